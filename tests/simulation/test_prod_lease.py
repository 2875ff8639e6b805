"""One change to prod at a time on Vertex (docs/reliability.md): the deploy step and the
scheduled canary take prod's change lease, an object in prod's models bucket written under
Cloud Storage's generation preconditions, against the simulated cloud from the stacks, each
as the identity that takes it in production (the pipeline impersonating the deployer; the
canary's build as the deployer itself)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from google.api_core.exceptions import PreconditionFailed
from google.cloud import storage
from prod_deploy import DEPLOYER, PIPELINE, STEP
from simulated import mlops_as

from adapters.vertex.lease import GcsLease
from kernel import exit_codes
from kernel.workspace import ProdBusy
from promotion.domain import lease as rules

pytestmark = pytest.mark.slow  # starts the simulated cloud

BUCKET = "census-ml-prod-models"
OBJECT = "census-income/_lease/prod-change.json"
URI = f"gs://{BUCKET}/{OBJECT}"
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def gcs(sim) -> storage.Client:
    return storage.Client(
        project="census-ml-prod",
        credentials=sim.credentials(DEPLOYER),
        client_options={"api_endpoint": f"{sim.url}/storage"},
    )


def lease_at(sim, when: datetime) -> GcsLease:
    return GcsLease(gcs(sim), URI, seconds=600, poll=0.05, clock=lambda: when)


def lease_object(sim):
    return sim.root / "storage" / BUCKET / OBJECT


def test_a_lease_is_taken_once_waited_for_and_taken_over_only_once_it_lapsed(cloud):
    """In-process, as the deployer, with the clock in the test's hands."""
    sim = cloud()
    first = lease_at(sim, NOW)
    with first.held("run r1: deploy"):
        held = rules.parse(lease_object(sim).read_text())
        assert held is not None and held.holder.startswith("run r1: deploy (pid ")
        with pytest.raises(ProdBusy) as busy, lease_at(sim, NOW).held("mlops canary", 0.2):
            pass
        assert str(busy.value).startswith(f"prod is being changed by {held.holder} (since ")
        assert URI in str(busy.value)
        # ten minutes without renewal: its holder is taken for dead, and the lease taken over
        with lease_at(sim, NOW + timedelta(seconds=600)).held("mlops canary", 0):
            assert rules.parse(lease_object(sim).read_text()).holder.startswith("mlops canary")
        assert not lease_object(sim).exists()  # given back by the canary, under its generation
    assert not lease_object(sim).exists()  # the first one's give-back found another generation


def test_a_holder_renews_its_lease_while_it_works(cloud):
    """Every quarter of the lease, the same holder and start with a later expiry, each
    written on the generation the holder wrote last (waited for, with a ceiling)."""
    sim = cloud()
    holder = GcsLease(gcs(sim), URI, seconds=0.4)  # renewed every 0.1 s
    with holder.held("run r1: deploy"):
        first = rules.parse(lease_object(sim).read_text())
        deadline = time.monotonic() + 120
        while (now := rules.parse(lease_object(sim).read_text())).expires <= first.expires:
            assert time.monotonic() < deadline, "the lease was never renewed"
            time.sleep(0.05)
        assert (now.holder, now.since) == (first.holder, first.since)
    assert not lease_object(sim).exists()  # given back under the renewed generation


def test_cloud_storage_refuses_a_write_or_delete_on_a_generation_that_changed(cloud):
    sim = cloud()
    blob = gcs(sim).bucket(BUCKET).blob(OBJECT)
    blob.upload_from_string("one", if_generation_match=0)
    first = blob.generation
    with pytest.raises(PreconditionFailed):  # it exists: "only if absent" loses
        gcs(sim).bucket(BUCKET).blob(OBJECT).upload_from_string("two", if_generation_match=0)
    assert [p.name for p in lease_object(sim).parent.iterdir()] == ["prod-change.json"]
    blob.upload_from_string("three", if_generation_match=first)
    assert blob.generation > first
    with pytest.raises(PreconditionFailed):  # the generation read before the change
        gcs(sim).bucket(BUCKET).blob(OBJECT).delete(if_generation_match=first)
    with pytest.raises(PreconditionFailed):
        gcs(sim).bucket(BUCKET).blob(OBJECT).download_as_text(if_generation_match=first)
    assert lease_object(sim).read_text() == "three"
    gcs(sim).bucket(BUCKET).blob(OBJECT).delete(if_generation_match=blob.generation)
    assert not lease_object(sim).exists()


def hold(sim, who: str, **env: str) -> subprocess.Popen:
    """The deploy step's identity (the pipeline impersonating the deployer) holding the
    lease as the deploy does, until its stdin is closed."""
    proc = subprocess.Popen(
        [sys.executable, str(STEP), "hold", who],
        env={**os.environ, **sim.environ(PIPELINE), **env},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    return proc


def test_the_canary_waits_for_a_deploy_and_judges_once_it_is_done(cloud, monkeypatch):
    sim = cloud()
    deploying = hold(sim, "run r1: deploy")
    try:
        assert deploying.stdout.readline() == "holding\n"
        # a second deploy (another run) is refused the lease as well: one change at a time
        other = hold(sim, "run r2: deploy", MLOPS_PROD_LOCK_TIMEOUT="0.5")
        said, _ = other.communicate("", timeout=300)
        assert other.returncode == exit_codes.WAIT, said
        assert said.startswith("BUSY prod is being changed by run r1: deploy (pid ")
        # the scheduled canary, as its build runs it: waits, then exit 5 (its build stays
        # green and judges next hour), naming who holds prod
        monkeypatch.setenv("MLOPS_PROD_LOCK_TIMEOUT", "0.5")
        waited = mlops_as(sim, DEPLOYER, "canary", "--target", "vertex", "--as-self")
        assert waited.returncode == exit_codes.WAIT, waited.stderr
        (line,) = waited.stderr.strip().splitlines()
        assert line.startswith(
            f"mlops canary: error: prod is being changed by run r1: deploy (pid {deploying.pid} "
        )
        assert URI in line and "try again when it is done" in line
    finally:
        deploying.communicate("", timeout=300)
    assert deploying.returncode == 0 and not lease_object(sim).exists()  # given back
    judged = mlops_as(sim, DEPLOYER, "canary", "--target", "vertex", "--as-self")
    assert judged.returncode == exit_codes.NOTHING_TO_JUDGE, judged.stderr  # prod is free
    assert not lease_object(sim).exists()
    calls = [e for e in sim.wire if e.path.endswith(OBJECT.replace("/", "%2F")) or OBJECT in e.path]
    assert calls and {e.principal for e in calls} == {DEPLOYER}
    assert all(e.status < 400 or e.status in (404, 412) for e in calls), calls


def test_a_killed_deploy_s_lease_lapses_and_the_canary_takes_it_over(cloud):
    sim = cloud()
    killed = hold(sim, "run r1: deploy", MLOPS_PROD_LEASE_SECONDS="1")  # renewed every 0.25 s
    try:
        assert killed.stdout.readline() == "holding\n"
    finally:  # killed whether or not it got to hold the lease
        os.kill(killed.pid, signal.SIGKILL)
        killed.communicate(timeout=60)
    assert lease_object(sim).exists()  # never given back
    judged = mlops_as(sim, DEPLOYER, "canary", "--target", "vertex", "--as-self")
    assert judged.returncode == exit_codes.NOTHING_TO_JUDGE, judged.stderr
    assert not lease_object(sim).exists()
