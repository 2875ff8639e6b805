"""CDKTF constructs and stacks for the census ML platform (one stack per env)."""

from infra import providers as _providers  # noqa: F401  (must precede any provider import)
