"""promotion = "approval" on the local backend: the run stops with an approved candidate and
prod untouched; `mlops deploy --candidate` (what prod's deploy trigger runs) deploys it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlops.cli import main
from pipelines import params, runner
from promotion.domain.checksums import digest
from settings import load_platform

pytestmark = pytest.mark.slow  # runs the pipeline


@pytest.fixture(scope="module")
def approved(tmp_path_factory):
    workspace = tmp_path_factory.mktemp("approval")
    built = params.build(load_platform(), "staging", {"tenants.promotion": "approval"}, local=True)
    result = runner.run_local(built, workspace)
    shutil.copytree(workspace, tmp_path_factory.getbasetemp() / "approved-pristine")
    return workspace, result


@pytest.fixture
def pristine(approved, tmp_path, tmp_path_factory):
    """A copy of the approved run's workspace, before anything was deployed from it."""
    workspace, result = approved
    copy = tmp_path / "ws"
    shutil.copytree(tmp_path_factory.getbasetemp() / "approved-pristine", copy)
    relative = Path(result.approval["candidate_uri"]).relative_to(workspace)
    return copy, copy / relative


def test_the_run_approves_and_leaves_prod_untouched(approved):
    workspace, result = approved
    assert result.decision["deploy"] is True
    assert result.deployment is None and result.traffic == {} and result.aliases == {}
    uri = result.approval["candidate_uri"]
    record = json.loads((workspace / uri / "approval" / "approval.json").read_text())
    assert record["run_id"] == result.run_dir.name and record["serving_image"] == "local"
    assert record["digest"] == digest(record["files"]) == result.approval["digest"]
    assert {"model/model.json", "baseline.json", "smoke.json"} <= record["files"].keys()
    assert not any(name.startswith("approval/") for name in record["files"])
    assert "approved :" in runner.summary(result) and f"--candidate {uri}" in runner.summary(result)


def test_mlops_deploy_deploys_the_approved_candidate_once(approved, capsys):
    workspace, result = approved
    uri = result.approval["candidate_uri"]
    args = ["deploy", "--candidate", uri, "--workspace", str(workspace)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"run {result.run_dir.name}" in out
    assert "deployed version 1 (smoke test passed); endpoint v1 100%; monitoring created" in out
    assert main([*args, "--json"]) == 0  # a re-run (a retried build) changes nothing
    captured = capsys.readouterr()
    done = json.loads(captured.out)  # --json: the outcome alone on stdout
    assert (done["version"], done["traffic"], done["monitoring"]) == ("1", {"1": 100}, "updated")
    assert "already serves" in captured.err


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


def _deploy(workspace: Path, candidate: Path, *extra: str) -> int:
    return main(["deploy", "--candidate", str(candidate), "--workspace", str(workspace), *extra])


def _nothing_registered(workspace: Path) -> bool:
    prod = workspace / "census-ml-prod"
    return not prod.exists() or not any(prod.rglob("model.json"))


def test_a_candidate_changed_after_approval_is_refused(pristine, capsys):
    workspace, candidate = pristine
    (candidate / "model" / "model.json").write_text('{"rewritten": true}')
    assert _deploy(workspace, candidate) == 2
    err = capsys.readouterr().err
    assert f"{candidate}: not the candidate that was approved; nothing registered" in err
    assert "model/model.json: changed since approval" in err
    assert not (workspace / "census-ml-prod" / "registry.json").exists() or "census" not in (
        (workspace / "census-ml-prod" / "registry.json").read_text()
    )


def test_an_approval_record_edited_or_for_another_digest_is_refused(pristine, capsys):
    workspace, candidate = pristine
    record_file = candidate / "approval" / "approval.json"
    record = json.loads(record_file.read_text())
    assert _deploy(workspace, candidate, "--digest", "0" * 64) == 2
    assert "approved digest 000000000000... but its approval record says" in (
        capsys.readouterr().err
    )
    record["files"]["model/model.json"] = "f" * 64  # made to match a rewritten file
    record_file.write_text(json.dumps(record))
    assert _deploy(workspace, candidate, "--digest", record["digest"]) == 2
    assert "its files do not add up to its digest: it was edited" in capsys.readouterr().err
    with pytest.raises(SystemExit) as bad:
        _deploy(workspace, candidate, "--digest", "not-a-digest")
    assert bad.value.code == 2 and "is not a SHA-256" in capsys.readouterr().err
