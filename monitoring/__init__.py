"""Skew, drift and canary analysis of the prod endpoint, with Vertex AI's definitions."""
