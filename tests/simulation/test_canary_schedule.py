"""The canary concludes itself in prod: Cloud Scheduler's census-canary job starts the
census-canary build with the deployer's token, and the build judges the canary as the
deployer, all against the simulated cloud from the synthesized stacks (default mode). The
scheduled promotion and rollback themselves are played by tests/simulation/test_life.py;
here: the refusals, the wait, and the operations."""

import pytest
from prod_deploy import DEPLOYER, IMAGE, deploy, registered, result_of, serve_traffic
from simulated import without

pytestmark = pytest.mark.slow

JOB = "projects/census-ml-prod/locations/europe-west4/jobs/census-canary"
STARTER = "projects/census-ml-prod/roles/censusCanaryStarter"


def canaried(sim) -> None:
    """Champion v1 at 50%, challenger v2 at 50%, with traffic enough to judge."""
    result_of(deploy(sim, "run-1"))
    result_of(deploy(sim, "run-2", IMAGE, "50"))
    serve_traffic(sim, 500)


def finished_build(sim):
    (build,) = sim.builds.values()
    assert build.finished.wait(600), "the census-canary build never finished"
    return build


def test_without_the_starter_role_the_schedule_is_refused_naming_the_permission(cloud, stacks):
    sim = cloud(
        without(
            stacks,
            "prod",
            "google_project_iam_member",
            lambda b: b["role"].endswith("/censusCanaryStarter"),
        )
    )
    refused = sim.fire_job(JOB)
    assert refused.status_code == 403
    assert "cloudbuild.builds.create" in refused.text and DEPLOYER in refused.text
    assert sim.builds == {}


@pytest.mark.parametrize(
    ("who", "flags", "expected"),
    [
        (  # prod's planner cannot impersonate the deployer
            "census-planner@census-ml-prod.iam.gserviceaccount.com",
            (),
            "refused iam.serviceAccounts.getAccessToken on projects/census-ml-prod/"
            f"serviceAccounts/{DEPLOYER} to census-planner@census-ml-prod.iam.gserviceaccount.com"
            f" (403): it may not act as {DEPLOYER}",
        ),
        (  # nor, as itself, take prod's change lease (the canary's first call)
            "census-infra@census-ml-prod.iam.gserviceaccount.com",
            ("--as-self",),
            "refused storage.objects.get on projects/_/buckets/census-ml-prod-models/objects/"
            "census-income/_lease/prod-change.json to "
            "census-infra@census-ml-prod.iam.gserviceaccount.com (403)",
        ),
    ],
)
def test_a_denied_canary_is_one_line_naming_identity_and_permission(cloud, who, flags, expected):
    from simulated import mlops_as

    sim = cloud()
    done = mlops_as(sim, who, "canary", "--target", "vertex", *flags)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [f"mlops canary: error: Google Cloud {expected}"]


def test_operations_run_until_polled_and_an_endpoint_refuses_a_second_change(cloud):
    """Vertex answers deploy and undeploy with a running operation, done only when polled
    so; while one runs on an endpoint, another change to it is refused."""
    import httpx

    sim = cloud()
    result_of(deploy(sim, "run-1"))
    result_of(deploy(sim, "run-2", IMAGE, "50"))
    (endpoint,) = sim.vertex.endpoints.values()
    first, second = (d["id"] for d in endpoint["deployedModels"])
    sim.vertex.operation_polls = 3
    api = f"{sim.url}/aiplatform/v1/{endpoint['name']}"
    with httpx.Client(headers={"authorization": f"Bearer {sim.tokens.issue(DEPLOYER)}"}) as c:
        started = c.post(
            f"{api}:undeployModel",
            json={"deployedModelId": second, "trafficSplit": {first: 100}},
        ).json()
        assert started["done"] is False
        refused = c.patch(
            api, params={"updateMask": "traffic_split"}, json={"trafficSplit": {first: 100}}
        )
        assert refused.status_code == 400 and "operation in progress" in refused.text
        polled = [c.get(f"{sim.url}/aiplatform/ui/{started['name']}").json() for _ in range(3)]
        assert [p["done"] for p in polled] == [False, False, True]
        assert c.patch(
            api, params={"updateMask": "traffic_split"}, json={"trafficSplit": {first: 100}}
        ).is_success


def test_traffic_not_yet_in_cloud_monitoring_makes_the_judgement_wait(cloud):
    """Cloud Monitoring's points arrive minutes late: a canary judged right after its
    traffic sees none of it and waits, rather than judging on what it cannot see."""
    sim = cloud()
    canaried(sim)
    sim.monitoring_delay = 3600.0  # none of the traffic has reached the series yet
    assert sim.fire_job(JOB).status_code == 200
    build = finished_build(sim)
    assert build.status == "SUCCESS", build.log()  # waiting is no failure of the build
    assert "canary v2 vs champion v1: WAIT" in build.log()
    assert registered(sim)["aliases"]["challenger"] == "2"
