"""The shared kernel: what every layer may use, importing nothing of this repository's.

Errors a user can fix, atomic writes, storage URIs, the one-line command-line helpers, and
the few names several layers must agree on (kernel.names).
"""
