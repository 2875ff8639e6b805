"""The platform's command line and the small pieces every package shares."""
