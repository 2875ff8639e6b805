"""The Vertex AI target: pure request builders (tested) and thin shells that send them."""
