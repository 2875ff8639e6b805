"""The synthesized IAM equals the tables in docs/infra.md, exactly, per env."""

import re
from collections import defaultdict

from infra.iam import describe, grants_in_stack, plan_grants
from settings import REPO_ROOT

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
    return {
        env: {describe(platform, env, g) for g in grants_in_stack(stack, platform[env].project_id)}
        for env, stack in stacks.items()
    }


def test_synthesized_grants_equal_the_documented_tables(stacks, platform):
    documented = table("grants")
    for env, rows in table("cross-tenant").items():
        documented[env] |= rows
    actual = synthesized(stacks, platform)
    for env in ("dev", "staging", "prod"):
        assert actual[env] == documented[env], (
            env,
            "in code, not in docs:",
            actual[env] - documented[env],
            "in docs, not in code:",
            documented[env] - actual[env],
        )


def test_cross_tenant_table_is_exactly_the_grants_naming_another_env(stacks, platform):
    cross = table("cross-tenant")
    for env, rows in synthesized(stacks, platform).items():
        foreign = {r for r in rows if r[0].split(" ")[0] in ("dev", "staging", "prod")}
        assert foreign == cross.get(env, set()), env
    # The one write path into prod: staging's pipeline minting the deployer's tokens; the
    # rest is staging's submitter reading prod metadata for the preflight.
    read_only = {"custom censusPreflight", "roles/storage.legacyBucketReader"}
    assert {r for r in cross["prod"] if r[1] not in read_only} == {
        ("staging pipeline", "roles/iam.serviceAccountTokenCreator", "service account deployer")
    }


def test_synthesized_grants_equal_the_plan(stacks, platform):
    for env, stack in stacks.items():
        assert grants_in_stack(stack, platform[env].project_id) == plan_grants(platform, env)


def test_the_apis_table_is_what_each_stack_enables(stacks):
    text = DOC.read_text()
    body = re.search(r"<!-- apis:begin -->(.*?)<!-- apis:end -->", text, re.S)
    assert body, "docs/infra.md has no apis table"
    documented: dict[str, set[str]] = defaultdict(set)
    for line in body.group(1).strip().splitlines()[2:]:
        envs, apis = (cell.strip() for cell in line.strip("|").split("|"))
        for env in envs.split(", "):
            documented[env] |= {f"{api.strip()}.googleapis.com" for api in apis.split(",")}
    for env, stack in stacks.items():
        enabled = {s["service"] for s in stack["resource"]["google_project_service"].values()}
        assert enabled == documented[env], env


def test_the_identities_table_is_what_each_stack_creates(stacks, platform):
    text = DOC.read_text()
    body = re.search(r"<!-- identities:begin -->(.*?)<!-- identities:end -->", text, re.S)
    assert body, "docs/infra.md has no identities table"
    for line in body.group(1).strip().splitlines()[2:]:
        env, role, project, identities = (cell.strip() for cell in line.strip("|").split("|"))
        s = platform[env]
        assert (role, project.strip("`")) == (s.role, s.project_id)
        created = {
            a["account_id"]: a for a in stacks[env]["resource"]["google_service_account"].values()
        }
        by_identity = {i: s.service_accounts[i] for i in identities.split(", ")}
        assert set(by_identity.values()) == set(created), env
