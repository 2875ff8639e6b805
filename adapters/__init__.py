"""The backends behind promotion.ports: local/ (this machine) and vertex/ (Google Cloud).

The two never import each other; wiring.py is the one place that chooses between them.
"""
