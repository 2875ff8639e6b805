"""The stacks planned and applied against the simulated cloud, as the identities that run
them (simulation/terraform): the first apply from empty projects as the owner, a pull
request's plan as the planner, CI's applies as census-infra, and mistakes failing with the
API's message naming the permission, the resource and the identity."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys

import pytest

from kernel.gcp_iam import is_read_only
from settings import REPO_ROOT
from settings.bootstrap import infra_roles
from simulation.terraform import graph
from simulation.terraform.applier import OWNER, Cloud, infra_identity, planner_identity
from simulation.terraform.scenes import (
    FIRST_APPLY,
    ci_applies,
    failures,
    first_apply,
    pull_request_plans,
)
from simulation.world import World

pytestmark = pytest.mark.slow  # synthesizes the stacks


@pytest.fixture(scope="module")
def applied(stacks):
    return first_apply(stacks)


def _errors(scene_or_runs) -> list[str]:
    runs = getattr(scene_or_runs, "runs", scene_or_runs)
    return [f"{r.part}: {e.address}: {e.error}" for r in runs for e in r.errors]


def _first_error(stacks: dict, part: str, order=FIRST_APPLY) -> tuple[str, str]:
    _, scene = first_apply(stacks, order)
    (run,) = [r for r in scene.runs if r.part == part]
    first = next(e for e in run.errors if not e.error.startswith("skipped"))
    return first.address, first.error


def test_the_documented_order_applies_from_empty_projects(stacks, applied):
    _, scene = applied
    assert _errors(scene) == []
    tenant_runs = [r for r in scene.runs if r.part in FIRST_APPLY]
    assert [r.part for r in tenant_runs] == list(FIRST_APPLY)
    for run in tenant_runs:
        resources = sum(1 for n in graph.nodes(stacks[run.part]).values() if not n.data)
        assert run.count("create") == resources, run.part
        assert run.principal == OWNER


def test_the_applied_cloud_is_the_one_the_vertex_runs_meet(stacks, applied):
    """What the applies built equals World.from_stacks (what every other simulation uses),
    beside the bootstrap's own grants (the owner's, census-infra's) and the convenience
    bindings Cloud Storage adds to every bucket."""
    cloud, _ = applied
    seeded = World.from_stacks(stacks)
    grown = cloud.world
    for attr in ("accounts", "keys", "buckets", "datasets", "repositories", "custom_roles",
                 "triggers", "topics", "functions", "endpoints", "metadata_stores"):  # fmt: skip
        assert getattr(grown, attr) == getattr(seeded, attr), attr
    assert set(seeded.agents) <= set(grown.agents)
    extra = set(grown.bindings) - set(seeded.bindings)
    infra = {
        f"serviceAccount:{infra_identity(cloud.project(p))}" for p in ("dev", "staging", "prod")
    }
    assert all(
        b.member == f"user:{OWNER}"
        or b.member in infra
        or b.role.startswith(("roles/storage.legacy", "roles/eventarc."))
        for b in extra
    ), sorted(extra)  # fmt: skip
    assert set(seeded.bindings) - set(grown.bindings) == set()


def test_docs_give_the_same_order():
    text = (REPO_ROOT / "docs" / "infra.md").read_text()
    section = text.split("### First apply", 1)[1].split("\n#", 1)[0]
    named = re.findall(r"^\d\. .*cdktf deploy (census-ml-[a-z-]+)", section, re.M)
    assert [n.removeprefix("census-ml-") for n in named] == list(FIRST_APPLY)


def test_a_pull_request_plan_reads_only_state_and_what_it_must(stacks):
    cloud, _ = first_apply(stacks)
    scene = pull_request_plans(cloud)
    assert _errors(scene) == []
    for run in scene.runs:
        assert run.principal == planner_identity(cloud.project(run.part))
        assert run.count("no-op") > 0 and run.count("create") == run.count("update") == 0
        assert run.mutating() == [] and all(c.verb == "GET" for c in run.calls)
        assert all(is_read_only(p) for p in run.permissions()), run.permissions()
        objects = {k.resource for c in run.calls for k in c.checks if "/objects/" in k.resource}
        state = {o for o in objects if o.endswith("/default.tfstate")}
        assert state == {f"projects/_/buckets/census-ml-{cloud.project(run.part).split('-')[-1]}"
                         f"-tfstate/objects/census-ml/{run.part}/default.tfstate"}  # fmt: skip
        # beyond its state, only the retraining function's source, which its refresh reads
        assert all("/functions/census-retrain-" in o for o in objects - state), objects


def test_ci_applies_change_nothing_then_only_what_changed(stacks):
    cloud, _ = first_apply(stacks)
    scene = ci_applies(cloud, role_gains="storage.buckets.list")
    assert _errors(scene) == []
    *unchanged, plan, apply, dropped = scene.runs
    for run in unchanged:
        assert run.principal == infra_identity(cloud.project(run.part))
        assert run.mutating() == [], run.part
    assert plan.count("update") == 2 and apply.count("update") == 2
    assert {c.address.split(".")[0] for c in apply.changes if c.action == "update"} == {
        "google_project_iam_custom_role",
        "google_storage_bucket",
    }
    assert {c.method for c in apply.mutating()} == {
        "iam.projects.roles.patch",
        "storage.buckets.patch",
    }
    role = "projects/census-ml-staging/roles/censusPlanner"
    assert "storage.buckets.list" in cloud.world.custom_roles[role]
    (gone,) = [c for c in dropped.changes if c.action == "delete"]
    assert gone.address.startswith("google_storage_bucket_iam_member.") and not gone.error
    assert [c.method for c in dropped.mutating()] == ["storage.buckets.setIamPolicy"]
    assert not any(
        b.resource == "projects/_/buckets/census-ml-staging-data"
        and b.role == "roles/storage.objectViewer"
        and b.member == "serviceAccount:census-pipeline@census-ml-staging.iam.gserviceaccount.com"
        for b in cloud.world.bindings
    )


def test_mistakes_fail_naming_permission_resource_and_identity(stacks):
    scene = failures(stacks)
    early, no_role_admin, no_agent, protected = scene.runs
    assert {e.error for e in early.errors} == {
        "Service account census-deployer@census-ml-prod.iam.gserviceaccount.com does not exist.",
        "Service account service-100000000003@gcp-sa-aiplatform.iam.gserviceaccount.com "
        "does not exist.",
        "Service account service-100000000003@gcp-sa-logging.iam.gserviceaccount.com "
        "does not exist.",
    }
    assert no_role_admin.count("update") == no_role_admin.count("create") == 0
    assert (
        "Permission 'iam.roles.get' denied on resource "
        "'projects/census-ml-staging/roles/censusPlanner' (or it may not exist) for "
        "census-infra@census-ml-staging.iam.gserviceaccount.com."
    ) in {e.error for e in no_role_admin.errors}
    assert no_role_admin.mutating() == []  # a refresh that fails applies nothing
    assert (
        "Service account service-100000000001@gcp-sa-aiplatform.iam.gserviceaccount.com "
        "does not exist." in {e.error for e in no_agent.errors}
    )
    (refused,) = protected.errors
    assert refused.error.startswith(
        "Instance cannot be destroyed: Resource google_storage_bucket.buckets_models_bucket_"
    )
    assert "has lifecycle.prevent_destroy set" in refused.error
    assert protected.mutating() == []


def _strip(stack: dict, rtype: str, dropped) -> str:
    """Remove the depends_on entries `dropped` selects from every `rtype`; its first address."""
    for body in stack["resource"][rtype].values():
        body["depends_on"] = [d for d in body.get("depends_on", []) if not dropped(d)]
    return f"{rtype}.{next(iter(stack['resource'][rtype]))}"


def test_a_bucket_that_does_not_wait_for_its_key_grant_races_it(stacks):
    """Terraform creates what a resource does not wait for in parallel with it."""
    changed = copy.deepcopy(stacks)
    _strip(changed["prod"], "google_storage_bucket", lambda d: "crypto_key_iam" in d)
    address, error = _first_error(changed, "prod")
    assert address.startswith("google_storage_bucket.")
    assert error.startswith("races google_kms_crypto_key_iam_member.key-iam_key-storage-")
    assert (
        "it needs roles/cloudkms.cryptoKeyEncrypterDecrypter for serviceAccount:"
        "service-100000000003@gs-project-accounts.iam.gserviceaccount.com on projects/"
        "census-ml-prod/locations/europe-west4/keyRings/census-ml/cryptoKeys/storage"
    ) in error


def test_a_bucket_whose_agent_lacks_the_key_fails_as_that_agent(stacks):
    changed = copy.deepcopy(stacks)
    grants = changed["prod"]["resource"]["google_kms_crypto_key_iam_member"]
    for name in [n for n, b in grants.items() if "gs-project-accounts" in b["member"]]:
        del grants[name]
    for body in changed["prod"]["resource"]["google_storage_bucket"].values():
        body["depends_on"] = [d for d in body["depends_on"] if "gs-project-accounts" not in d]
    _, error = _first_error(changed, "prod")
    assert error == (
        "Permission 'cloudkms.cryptoKeyVersions.useToEncrypt' denied on resource "
        "'projects/census-ml-prod/locations/europe-west4/keyRings/census-ml/cryptoKeys/storage' "
        "(or it may not exist) for "
        "service-100000000003@gs-project-accounts.iam.gserviceaccount.com."
    )


def test_the_function_needs_its_eventarc_agent_and_its_build_grants(stacks):
    changed = copy.deepcopy(stacks)
    function = _strip(changed["staging"], "google_cloudfunctions2_function",
                      lambda d: "eventarc" in d)  # fmt: skip
    identities = changed["staging"]["resource"]["google_project_service_identity"]
    del identities[next(n for n in identities if "eventarc" in n)]
    address, error = _first_error(changed, "staging")
    assert address == function and "Eventarc" in error
    assert "service-100000000002@gcp-sa-eventarc.iam.gserviceaccount.com" in error

    changed = copy.deepcopy(stacks)
    _strip(changed["staging"], "google_cloudfunctions2_function",
           lambda d: "retrain-build" in d and "iam_member" in d)  # fmt: skip
    # and the grants made last: the function is created before them
    for rtype in ("google_storage_bucket_iam_member", "google_project_iam_member",
                  "google_artifact_registry_repository_iam_member"):  # fmt: skip
        for body in changed["staging"]["resource"][rtype].values():
            if "census-retrain-build@" in body["member"]:
                body["depends_on"] = [*body.get("depends_on", []), function]
    address, error = _first_error(changed, "staging")
    assert address == function
    assert error.startswith("Permission 'logging.logEntries.create' denied on resource "
                            "'projects/census-ml-staging'")  # fmt: skip
    assert error.endswith("for census-retrain-build@census-ml-staging.iam.gserviceaccount.com.")


def test_a_resource_that_does_not_wait_for_its_api_races_it(stacks):
    changed = copy.deepcopy(stacks)
    address = _strip(changed["dev"], "google_kms_key_ring", lambda d: "project_service" in d)
    got, error = _first_error(changed, "dev")
    assert got == address
    assert error.startswith("races google_project_service.apis_cloudkms_")
    assert "it needs api census-ml-dev/cloudkms.googleapis.com" in error


def test_a_resource_whose_api_is_off_fails_as_service_disabled(stacks):
    changed = copy.deepcopy(stacks)
    services = changed["dev"]["resource"]["google_project_service"]
    gone = [f"google_project_service.{n}" for n, b in services.items()
            if b["service"] == "cloudkms.googleapis.com"]  # fmt: skip
    for kind in ("resource", "data"):
        for by_name in changed["dev"][kind].values():
            for body in by_name.values():
                body["depends_on"] = [d for d in body.get("depends_on", []) if d not in gone]
    del services[gone[0].split(".")[1]]
    address, error = _first_error(changed, "dev")
    assert address.startswith("google_kms_key_ring.")
    assert error.startswith("cloudkms API has not been used in project 100000000001 before "
                            "or it is disabled.")  # fmt: skip


def test_a_grant_to_an_identity_no_stack_creates_fails(stacks):
    changed = copy.deepcopy(stacks)
    grants = changed["prod-cross-tenant"]["resource"]["google_service_account_iam_member"]
    body = next(iter(grants.values()))
    body["member"] = "serviceAccount:census-ghost@census-ml-staging.iam.gserviceaccount.com"
    _, error = _first_error(changed, "prod-cross-tenant")
    assert (
        error
        == "Service account census-ghost@census-ml-staging.iam.gserviceaccount.com does not exist."
    )


def test_a_depends_on_naming_nothing_is_refused(stacks):
    changed = copy.deepcopy(stacks["dev"])
    body = next(iter(changed["resource"]["google_storage_bucket"].values()))
    body["depends_on"] = ["google_kms_crypto_key_iam_member.gone"]
    with pytest.raises(ValueError, match=r"depends on google_kms_crypto_key_iam_member\.gone"):
        graph.nodes(changed)


def test_infra_gets_roles_for_what_its_stack_enables_and_its_custom_roles():
    roles = infra_roles(["cloudkms.googleapis.com", "pubsub.googleapis.com", "unknown.api"])
    assert roles == ["roles/cloudkms.admin", "roles/iam.roleAdmin",
                     "roles/iam.serviceAccountUser", "roles/logging.logWriter",
                     "roles/pubsub.admin"]  # fmt: skip


def test_a_planner_cannot_apply(stacks):
    cloud = Cloud(stacks)
    cloud.apply("dev", OWNER)
    changed = copy.deepcopy(stacks["dev"])
    bucket = next(iter(changed["resource"]["google_storage_bucket"].values()))
    bucket["labels"] = {**bucket["labels"], "owner": "someone"}
    planner = planner_identity("census-ml-dev")
    (locking,) = cloud.apply("dev", planner, changed).errors  # it cannot even lock the state
    assert (locking.action, locking.error) == ("lock", (
        "Permission 'storage.objects.create' denied on resource 'projects/_/buckets/"
        "census-ml-dev-tfstate/objects/census-ml/dev/default.tflock' (or it may not exist) for "
        f"{planner}."))  # fmt: skip
    run = cloud.apply("dev", planner, changed, lock=False)
    (error,) = run.errors
    assert error.error.startswith("Permission 'storage.buckets.update' denied")
    assert run.mutating() and all(c.status == 403 for c in run.mutating())


def test_mlops_simulate_infra_plays_the_four_scenes():
    done = subprocess.run(
        [sys.executable, "-m", "mlops.cli", "simulate", "infra"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    for title in ("a. bootstrap and first apply", "b. a pull request's plan",
                  "c. CI applies as census-infra", "d. what fails"):  # fmt: skip
        assert title in out
    assert "what each identity did" in out
    assert re.search(
        r"census-planner@census-ml-prod\S+: \d+ calls; \d+ permissions; \d+ allowed, 0 denied", out
    )
    as_json = subprocess.run(
        [sys.executable, "-m", "mlops.cli", "simulate", "infra", "--json"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    found = json.loads(as_json.stdout)
    assert [s["ok"] for s in found["scenes"]] == [True, True, True, False]  # d: each fails
    assert found["problems"] == [] and as_json.returncode == 0
    planner = [r for r in found["scenes"][1]["runs"] if r["identity"].startswith("census-planner")]
    assert planner and all(r["kind"] == "plan" and not r["errors"] for r in planner)


def test_docs_list_the_roles_infra_is_granted():
    from settings.bootstrap import INFRA_ROLE_OF_API, INFRA_ROLES_ALWAYS

    text = (REPO_ROOT / "docs" / "infra.md").read_text()
    rows = re.findall(r"^\| (`[a-z]+`|\(always\)) \| `(roles/[A-Za-z.]+)` \|$", text, re.M)
    documented = {(api.strip("`"), role) for api, role in rows}
    assert documented == {(a.split(".")[0], r) for a, r in INFRA_ROLE_OF_API.items()} | {
        ("(always)", r) for r in INFRA_ROLES_ALWAYS
    }


def test_every_removal_calls_a_method_google_documents():
    from kernel.gcp_iam import method_permissions
    from simulation.terraform.provider import RESOURCES, delete_method

    for rtype in RESOURCES:
        method = delete_method(rtype)
        if method is not None:
            assert method_permissions(method), (rtype, method)


def test_a_removed_key_is_kept_by_google_its_versions_destroyed(stacks):
    cloud = Cloud(stacks)
    cloud.apply("dev", OWNER)
    added = copy.deepcopy(stacks["dev"])
    keys = added["resource"]["google_kms_crypto_key"]
    keys["scratch"] = {**next(iter(keys.values())), "name": "scratch"}
    assert cloud.apply("dev", OWNER, added).count("create") == 1
    run = cloud.apply("dev", OWNER, stacks["dev"])
    assert run.ok and run.count("delete") == 1, run.errors
    assert [c.method for c in run.mutating()] == [
        "cloudkms.projects.locations.keyRings.cryptoKeys.cryptoKeyVersions.destroy"
    ]
    key = "projects/census-ml-dev/locations/europe-west4/keyRings/census-ml/cryptoKeys/scratch"
    assert cloud.world.keys[key].state == "DESTROY_SCHEDULED"  # Google never deletes a key


def test_a_change_without_an_update_method_replaces(stacks):
    cloud = Cloud(stacks)
    cloud.apply("dev", OWNER)
    changed = copy.deepcopy(stacks["dev"])
    (store,) = changed["resource"]["google_vertex_ai_metadata_store"].values()
    store["description"] = "the metadata store, described"
    plan = cloud.plan("dev", OWNER, changed)
    assert [c.action for c in plan.changes if c.action == "replace"] == ["replace"]
    run = cloud.apply("dev", OWNER, changed)
    assert [c.method for c in run.mutating()] == [
        "aiplatform.projects.locations.metadataStores.delete",
        "aiplatform.projects.locations.metadataStores.create",
    ]
