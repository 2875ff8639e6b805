"""The census promotion pipeline (KFP v2): components, compiler, Vertex AI and local backends."""
