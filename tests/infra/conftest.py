"""Provider bindings load one resource module at a time, as synth loads them
(infra/providers.py): test modules here import them directly."""

from infra.providers import load_lazily

load_lazily()
