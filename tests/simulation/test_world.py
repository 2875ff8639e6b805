"""The simulated world is the synthesized stacks, as Google would hold them after an apply."""

import pytest

from infra.iam import grants_in_stack
from infra.layout import env_of
from simulation.world import World

pytestmark = pytest.mark.slow  # synthesizes the stacks or starts the simulated cloud


def test_every_synthesized_binding_is_enforced(stacks, platform):
    world = World.from_stacks(stacks)
    seeded = {(b.role, b.member) for b in world.bindings}
    for part, stack in stacks.items():
        for grant in grants_in_stack(stack, platform[env_of(part)].project_id):
            assert (grant.role, grant.member) in seeded, grant
    assert world.projects == {s.project_id: s.project_number for s in platform.envs.values()}


def test_resources_are_the_stacks_resources(stacks, platform):
    world = World.from_stacks(stacks)
    prod = platform["prod"]
    assert world.buckets[prod.buckets.models].kms_key == prod.key_id("storage")
    assert world.datasets[f"{prod.project_id}.census"].kms_key == prod.key_id("bigquery")
    assert set(world.keys) == {s.key_id(p) for s in platform.envs.values() for p in s.kms.keys}
    endpoint = f"projects/{prod.project_id}/locations/{prod.region}/endpoints/4242000001"
    assert world.endpoints == {endpoint: prod.key_id("vertex")}
    assert prod.service_account_email("deployer") in world.accounts
    assert prod.service_agent_email("vertex") in world.agents
    assert f"projects/{prod.project_id}/roles/censusPreflight" in world.custom_roles


def test_the_hierarchy_of_a_resource(stacks):
    world = World.from_stacks(stacks)
    key = "projects/census-ml-prod/locations/europe-west4/keyRings/census-ml/cryptoKeys/vertex"
    assert world.chain(key) == [key, key.split("/cryptoKeys/")[0], "projects/census-ml-prod"]
    assert world.chain("projects/_/buckets/census-ml-prod-models/objects/m/model.txt") == [
        "projects/_/buckets/census-ml-prod-models/objects/m/model.txt",
        "projects/_/buckets/census-ml-prod-models",
        "projects/census-ml-prod",
    ]
