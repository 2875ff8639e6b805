"""`mlops simulate life`: the model's life on Vertex AI in one simulated cloud, sealed (no
process of it may reach a host but this machine): runs 1-4, the scheduled judgement that
promotes the canary, a bad serving release rolled back on its error rate, approval turned on,
an anomaly that reaches the retraining function through prod's log sink, the run it starts,
and a person approving the deploy build it announced."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SEALED = Path(__file__).resolve().parents[1] / "sealed"
DEPLOYER = "census-deployer@census-ml-prod.iam.gserviceaccount.com"
ACCOUNTS = "projects/census-ml-prod/serviceAccounts"
LOGGING_AGENT = "service-100000000003@gcp-sa-logging.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def life(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("life")
    leaks = root / "leaks.log"
    path = os.pathsep.join(filter(None, [str(SEALED), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [sys.executable, "-m", "mlops.cli", "simulate", "life", "--workspace", str(root / "w")],
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "PYTHONPATH": path, "MLOPS_SEALED_LOG": str(leaks)},
    )
    (root / "life.out").write_text(done.stdout)  # to read when a test below fails
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert not leaks.exists(), leaks.read_text()  # nothing left the machine
    return done.stdout


def chapter(out: str, title: str, nth: int = 0) -> str:
    """The text of the nth chapter whose title starts with `title`."""
    parts = re.split(r"\n== ", out)
    found = [p for p in parts if p.startswith(title)]
    assert len(found) > nth, f"no chapter {title!r} #{nth} in:\n{out[-4000:]}"
    return found[nth]


def test_each_run_deploys_a_better_version_the_way_make_demo_says_it(life):
    first = chapter(life, "run 1")
    assert "decision : DEPLOY (custom): passes every bar and prod has no champion yet" in first
    assert "deployed : version 1; smoke test passed" in first and "endpoint : v1 100%" in first
    second = chapter(life, "run 2")
    assert "decision : DEPLOY (custom): beats the champion" in second
    assert "aliases challenger=v2, champion=v1" in second
    assert re.search(r"endpoint : v[12] 50%, v[12] 50%", second)


def test_the_scheduled_judgement_promotes_the_canary_as_the_deployer(life):
    judged = chapter(life, "Cloud Scheduler: the canary's judgement")
    assert f"SUCCESS as {DEPLOYER}" in judged
    assert "canary v2 vs champion v1: PROMOTE" in judged
    assert "endpoint : v2 100%" in judged and "champion=v2, default=v2" in judged
    # Cloud Scheduler started each judgement with the deployer's own token: builds.create in
    # prod and actAs itself, nothing more (tests/simulation/test_canary_schedule.py: without
    # its starter role the schedule is refused)
    wire = Path(re.search(r"wire log : (\S+)", life).group(1)).read_text().splitlines()
    runs = [line for line in wire if "cloudbuild.projects.locations.triggers.run" in line]
    assert len(runs) == 2 and all(f"as {DEPLOYER}  [" in line for line in runs)
    for line in runs:
        assert "allowed cloudbuild.builds.create on projects/census-ml-prod;" in line
        assert f"allowed iam.serviceAccounts.actAs on {ACCOUNTS}/{DEPLOYER}" in line


def test_a_bad_serving_release_is_rolled_back_on_its_error_rate(life):
    third = chapter(life, "run 3")
    assert "deployed : version 3; smoke test passed" in third  # it passes the smoke test...
    judged = chapter(life, "Cloud Scheduler: the canary's judgement", 1)
    assert "canary v3 vs champion v2: ROLLBACK: error rate" in judged  # ...not the canary
    assert "endpoint : v2 100%" in judged and "champion=v2, default=v2" in judged


def test_an_anomaly_reaches_the_retraining_function_and_starts_run_4(life):
    # since run 3 updated the job: the bad release's canary traffic, then the older clients
    found = chapter(life, "Vertex AI Model Monitoring: the scheduled analysis")
    assert re.search(r"anomaly  : skew of age 0\.\d+ > 0\.1", found)
    reached = chapter(life, "the anomaly reaches the retraining function")
    # one entry per objective with anomalies (skew, maybe drift): a message and a push each,
    # and one run whatever their number (the analysis's time makes the run id)
    published = re.findall(r"pubsub\.projects\.topics\.publish\s*: (\d+) as (\S+)", reached)
    assert published and set(published) == {("200", LOGGING_AGENT)}
    pushed = re.findall(r"run\.routes\.invoke\s*: 200 as census-retrain@", reached)
    assert len(pushed) == len(published) == reached.count("census-retrain exited 0")
    assert "model monitoring: 1 raw feature skew anomaly (age)" in reached
    assert reached.count("submitted projects/census-ml-staging/") == 1
    fourth = chapter(life, "run 4: the retraining: PIPELINE_STATE_SUCCEEDED")
    assert "decision : DEPLOY (custom): beats the champion" in fourth
    # approval is on by now: the run announces its candidate and leaves prod as it was
    assert re.search(
        r"approved : gs://census-ml-staging-models/census-income/candidates/\S+; announced on "
        r"projects/census-ml-prod/topics/census-approved-candidates message \d+",
        fourth,
    )
    assert "deployed :" not in fourth and "endpoint : v2 100%" in fourth


def test_turning_approval_on_takes_the_deployer_from_the_pipeline(life):
    applied = chapter(life, "the platform team turns approval on")
    approver = "roles/cloudbuild.builds.approver on projects/census-ml-prod to release-approver@"
    assert f"granted  : {approver}" in applied
    topic = "projects/census-ml-prod/topics/census-approved-candidates"
    assert f"granted  : roles/pubsub.publisher on {topic} to census-pipeline@" in applied
    on = f"projects/census-ml-prod/serviceAccounts/{DEPLOYER}"
    token = f"projects/census-ml-prod/roles/censusTokenMinter on {on}"
    assert f"revoked  : {token} to census-pipeline@" in applied
    assert f"trigger  : census-deploy on {topic}, approval required" in applied


def test_a_person_approves_the_deploy_build_which_deploys_as_the_deployer(life):
    approved = chapter(life, "a release approver approves prod's census-deploy build")
    assert re.search(
        r"pending  : \w+ \(census-deploy\) _CANDIDATE=gs://census-ml-staging-models/\S+ "
        r"_DIGEST=[0-9a-f]{12}\.\.\.",
        approved,
    )
    assert "approve  : 200 as release-approver@example.com" in approved
    assert f"build    : SUCCESS as {DEPLOYER}" in approved
    assert "deployed version 4 (smoke test passed); endpoint v2 90%, v4 10%" in approved
    assert "aliases challenger=v4, champion=v2, default=v2" in approved  # default: the champion


def test_the_summary_counts_calls_per_identity(life):
    summary = life[life.index("simulated life: ") :]
    assert re.search(rf"\d+  {re.escape(DEPLOYER)}", summary)
    assert "census-retrain@census-ml-staging.iam.gserviceaccount.com" in summary
    assert re.search(r"\d+  release-approver@example.com", summary)  # listed and approved


def test_a_workspace_that_holds_a_simulated_cloud_is_refused(tmp_path):
    (tmp_path / "cloud").mkdir()
    (tmp_path / "cloud" / "wire.log").write_text("a previous life\n")
    done = subprocess.run(
        [sys.executable, "-m", "mlops.cli", "simulate", "life", "--workspace", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"{tmp_path}: holds a simulated cloud already" in done.stderr
    assert "Traceback" not in done.stderr
    assert (tmp_path / "cloud" / "wire.log").read_text() == "a previous life\n"  # untouched
