"""The local prod tenant's services in a test workspace, opened as the CLI opens them."""

from adapters import wiring
from settings import load_platform, tenants_for

PLATFORM = load_platform()
TENANTS = tenants_for(PLATFORM, "staging", local=True)
PROD_PROJECT = TENANTS.prod_project


def open_local_prod(workspace) -> wiring.Prod:
    return wiring.open_prod("local", str(workspace), TENANTS)


ROLLOUT = PLATFORM["prod"].serving.rollout
