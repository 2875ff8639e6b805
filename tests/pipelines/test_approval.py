"""promotion = "approval" on the local backend: the run stops with an approved candidate and
prod untouched; `mlops deploy --candidate` (what prod's deploy trigger runs) deploys it."""

from __future__ import annotations

import json

import pytest

from mlops.cli import main
from pipelines import params, runner
from settings import load_platform

pytestmark = pytest.mark.slow  # runs the pipeline


@pytest.fixture(scope="module")
def approved(tmp_path_factory):
    workspace = tmp_path_factory.mktemp("approval")
    built = params.build(load_platform(), "staging", {"tenants.promotion": "approval"}, local=True)
    return workspace, runner.run_local(built, workspace)


def test_the_run_approves_and_leaves_prod_untouched(approved):
    workspace, result = approved
    assert result.decision["deploy"] is True
    assert result.deployment is None and result.traffic == {} and result.aliases == {}
    uri = result.approval["candidate_uri"]
    record = json.loads((workspace / uri / "approval" / "approval.json").read_text())
    assert record["run_id"] == result.run_dir.name and record["serving_image"] == "local"
    assert "approved :" in runner.summary(result) and f"--candidate {uri}" in runner.summary(result)


def test_mlops_deploy_deploys_the_approved_candidate_once(approved, capsys):
    workspace, result = approved
    uri = result.approval["candidate_uri"]
    args = ["deploy", "--candidate", uri, "--workspace", str(workspace)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"run {result.run_dir.name}" in out
    assert "deployed version 1 (smoke test passed); endpoint v1 100%; monitoring created" in out
    assert main(args) == 0  # a re-run (a retried build) changes nothing
    out = capsys.readouterr().out
    assert "already serves" in out and "monitoring updated" in out


@pytest.mark.parametrize(
    ("approval", "message"),
    [
        (None, "no approval here"),
        ("{not json", "not JSON"),
        (json.dumps({"run_id": "r", "commit": ""}), "missing or empty: commit, serving_image"),
    ],
)
def test_a_candidate_without_a_sound_approval_is_refused(tmp_path, capsys, approval, message):
    staged = "census-ml-staging/buckets/census-ml-staging-models/census-income/candidates"
    candidate = tmp_path / "ws" / staged / "r"
    (candidate / "approval").mkdir(parents=True)
    if approval is not None:
        (candidate / "approval" / "approval.json").write_text(approval)
    code = main(["deploy", "--candidate", str(candidate), "--workspace", str(tmp_path / "ws")])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and str(candidate / "approval" / "approval.json") in err
    assert not (tmp_path / "ws" / "census-ml-prod").exists() or not any(
        (tmp_path / "ws" / "census-ml-prod").rglob("model.txt")
    )


def test_a_candidate_outside_stagings_candidates_is_refused(tmp_path, capsys):
    candidate = tmp_path / "elsewhere" / "r"
    (candidate / "approval").mkdir(parents=True)
    code = main(["deploy", "--candidate", str(candidate), "--workspace", str(tmp_path / "ws")])
    assert code == 2
    assert "not a staged candidate; expected " in capsys.readouterr().err
