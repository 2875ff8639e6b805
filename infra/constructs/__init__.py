"""Reusable constructs; each takes an env's Settings and owns one concern."""
