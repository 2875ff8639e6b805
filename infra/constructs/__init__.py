"""Reusable constructs, one concern each, each taking a small props object of its own.

Building any of them imports provider bindings, so the lazy loading (infra/providers.py)
is set up here, before the first provider import: it happens when stacks are built, never
when other packages import `infra`.
"""

from infra.providers import load_lazily

load_lazily()
