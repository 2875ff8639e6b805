"""The policy gate: checkov's built-in checks plus this project's own rules."""
