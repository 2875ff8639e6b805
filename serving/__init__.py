"""The prediction server: Vertex AI's custom-container contract, used locally unchanged."""
