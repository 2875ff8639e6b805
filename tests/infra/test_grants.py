"""The synthesized IAM equals the tables in docs/infra.md, exactly, per env."""

import re
from collections import defaultdict

import pytest

from infra.iam import describe, grants_in_stack, plan_grants, tenant_grants
from infra.layout import cross_tenant_part, env_of
from settings import REPO_ROOT

pytestmark = pytest.mark.slow  # synthesizes the stacks or starts the simulated cloud

DOC = REPO_ROOT / "docs" / "infra.md"


def table(marker: str) -> dict[str, set[tuple[str, str, str]]]:
    text = DOC.read_text()
    body = re.search(rf"<!-- {marker}:begin -->(.*?)<!-- {marker}:end -->", text, re.S)
    assert body, f"docs/infra.md has no {marker} table"
    rows: dict[str, set] = defaultdict(set)
    for line in body.group(1).strip().splitlines()[2:]:
        envs, member, role, on = (cell.strip() for cell in line.strip("|").split("|"))
        for env in envs.split(", "):
            rows[env].add((member, role.strip("`"), on))
    return rows


def synthesized(stacks, platform) -> dict[str, set[tuple[str, str, str]]]:
    """Each stack's grants as table rows, by part."""
    return {
        part: {
            describe(platform, env_of(part), g)
            for g in grants_in_stack(stack, platform[env_of(part)].project_id)
        }
        for part, stack in stacks.items()
    }


def test_each_tenant_stack_grants_exactly_the_grants_table(stacks, platform):
    documented = table("grants")
    actual = synthesized(stacks, platform)
    for env in ("dev", "staging", "prod"):
        assert actual[env] == documented[env], (
            env,
            "in code, not in docs:",
            actual[env] - documented[env],
            "in docs, not in code:",
            documented[env] - actual[env],
        )


def test_each_cross_tenant_stack_grants_exactly_the_cross_tenant_table(stacks, platform):
    cross = table("cross-tenant")
    actual = synthesized(stacks, platform)
    assert "dev-cross-tenant" not in actual
    for env in ("staging", "prod"):
        assert actual[cross_tenant_part(env)] == cross[env], env
        # ...and those are exactly the rows that name another env's member
        foreign = {r for r in actual[cross_tenant_part(env)] if r[0].split(" ")[0] in cross}
        assert foreign == cross[env]
    # The one write path into prod: staging's pipeline minting the deployer's tokens (with
    # promotion = "canary"); it also reads prod as the reader, and staging's submitters read
    # prod metadata for the preflight.
    read_only = {"custom censusPreflight"}
    assert {r for r in cross["prod"] if r[1] not in read_only} == {
        ("staging pipeline", "custom censusTokenMinter", "service account deployer"),
        ("staging pipeline", "custom censusTokenMinter", "service account reader"),
    }


def test_synthesized_grants_equal_the_plan(stacks, platform):
    for env in platform.envs:
        parts = [p for p in stacks if env_of(p) == env]
        synthesized = sorted(
            g for p in parts for g in grants_in_stack(stacks[p], platform[env].project_id)
        )
        assert synthesized == plan_grants(platform, env)
        assert grants_in_stack(stacks[env], platform[env].project_id) == tenant_grants(
            platform, env
        )


def test_the_apis_table_is_what_each_stack_enables(tenant_stacks):
    text = DOC.read_text()
    body = re.search(r"<!-- apis:begin -->(.*?)<!-- apis:end -->", text, re.S)
    assert body, "docs/infra.md has no apis table"
    documented: dict[str, set[str]] = defaultdict(set)
    for line in body.group(1).strip().splitlines()[2:]:
        envs, apis = (cell.strip() for cell in line.strip("|").split("|"))
        for env in envs.split(", "):
            documented[env] |= {f"{api.strip()}.googleapis.com" for api in apis.split(",")}
    for env, stack in tenant_stacks.items():
        enabled = {s["service"] for s in stack["resource"]["google_project_service"].values()}
        assert enabled == documented[env], env


def test_the_identities_table_is_what_each_stack_creates(tenant_stacks, platform):
    text = DOC.read_text()
    body = re.search(r"<!-- identities:begin -->(.*?)<!-- identities:end -->", text, re.S)
    assert body, "docs/infra.md has no identities table"
    for line in body.group(1).strip().splitlines()[2:]:
        env, role, project, identities = (cell.strip() for cell in line.strip("|").split("|"))
        s = platform[env]
        assert (role, project.strip("`")) == (s.role, s.project_id)
        created = {
            a["account_id"]: a
            for a in tenant_stacks[env]["resource"]["google_service_account"].values()
        }
        by_identity = {i: s.service_accounts[i] for i in identities.split(", ")}
        assert set(by_identity.values()) == set(created), env
