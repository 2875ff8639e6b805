"""What a pull request's plan reads, as the planner: every resource type and data source the
stacks synthesize has its provider calls in simulation/terraform/provider.py, and the planner
holds the permission of every read."""

from __future__ import annotations

import pytest

from infra.iam import PLANNER_ROLE
from kernel.gcp_iam import method_permissions, required_permission
from simulation.terraform.provider import DATA_SOURCES, RESOURCES

pytestmark = pytest.mark.slow  # synthesizes the stacks

# Besides its project role the planner reads objects of two buckets: the state's, and in
# staging the templates bucket holding the function's source (roles/storage.objectViewer).
BUCKET_LEVEL = {"storage.objects.get", "storage.objects.list"}


def reads(stacks: dict[str, dict]) -> dict[str, set[str]]:
    """{permission a plan's read checks: the resource types and data sources that need it}."""
    needed: dict[str, set[str]] = {}
    for stack in stacks.values():
        for rtype in stack.get("resource", {}):
            needed.setdefault(required_permission(RESOURCES[rtype].read) or "", set()).add(rtype)
        for dtype in stack.get("data", {}):
            needed.setdefault(required_permission(DATA_SOURCES[dtype]) or "", set()).add(dtype)
    needed.pop("", None)  # methods that check nothing
    return needed


def test_every_type_the_stacks_synthesize_has_its_calls_in_the_vendored_data(stacks):
    for stack in stacks.values():
        assert set(stack.get("resource", {})) <= set(RESOURCES)
        assert set(stack.get("data", {})) <= set(DATA_SOURCES)
    for calls in RESOURCES.values():
        for method in filter(None, (calls.read, calls.create, calls.update)):
            method_permissions(method)  # raises on a method the data does not know


def test_the_planner_may_read_everything_a_plan_refreshes(stacks):
    held = set(PLANNER_ROLE.permissions) | BUCKET_LEVEL
    assert {p: types for p, types in reads(stacks).items() if p not in held} == {}
    # ...and no data source needs a right to run queries (BigQuery's agent's data source
    # checked bigquery.jobs.create: the bootstrap asks for that agent instead)
    assert "bigquery.jobs.create" not in reads(stacks)
