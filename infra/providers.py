"""Import prebuilt provider bindings one resource module at a time.

The prebuilt provider package's `__init__` imports all of its ~1,500 resource modules, which
costs 5-6 s on every synth; the resource modules themselves only need the package's `_jsii`
assembly. Registering the package as a bare namespace first lets
`from cdktf_cdktf_provider_google.storage_bucket import ...` load just that module. With the
thin google-beta wrappers (constructs/beta.py), synthesizing all three envs drops from
~51 s to ~2.5 s (bench/synth.py).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types

PROVIDER_PACKAGES = ("cdktf_cdktf_provider_google",)


def load_lazily() -> None:
    """Before the first provider import: register each provider package bare, quiet jsii."""
    # jsii prints a Node 20 end-of-life banner on every start; it is noise in every synth.
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    for package in PROVIDER_PACKAGES:
        register_lazily(package)


def register_lazily(package: str) -> None:
    if package in sys.modules:
        return
    spec = importlib.util.find_spec(package)
    if spec is None or spec.submodule_search_locations is None:
        return  # not installed (as in the pipeline images): nothing to synthesize there
    module = types.ModuleType(package, f"{package}, loaded one resource module at a time")
    module.__path__ = list(spec.submodule_search_locations)
    module.__spec__ = spec
    module.__file__ = spec.origin
    sys.modules[package] = module
