"""CDKTF constructs and stacks for the census ML platform (one stack per env).

Importing this package does nothing; building stacks (infra.constructs) loads the provider
bindings lazily, see infra/providers.py.
"""
