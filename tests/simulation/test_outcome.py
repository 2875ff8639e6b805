"""What the simulated run says of itself, read from what its steps recorded in Vertex AI
Experiments and from the endpoint and registry it left."""

import json

from simulation.platform import outcome_lines, run_steps


def context(steps: dict, run_id: str = "r1") -> dict:
    metadata = {f"step.{k}": json.dumps({"facts": v, "recorded_at": "t"}) for k, v in steps.items()}
    return {"schemaTitle": "system.ExperimentRun", "displayName": run_id, "metadata": metadata}


DECIDE = {
    "deploy": True,
    "trainer": "custom",
    "reason": "beats the champion",
    "challenger": {"roc_auc": 0.93, "accuracy": 0.875, "log_loss": 0.27},
}


METRICS = {"roc_auc": 0.93, "accuracy": 0.875, "log_loss": 0.27, "f1": 0.71}
EVALUATE = {"metrics": METRICS, "slices": {"sex": 0.11}, "trainer": "lightgbm-0"}


def test_a_deployed_run_says_decision_metrics_deploy_traffic_and_aliases():
    steps = run_steps(
        {
            "r": context(
                {
                    "evaluate": EVALUATE,
                    "decide": DECIDE,
                    "deploy": {"version": "2", "smoke": "passed"},
                }
            ),
            "other": context({"decide": {**DECIDE, "reason": "another run"}}, "r0"),
        },
        "r1",
    )
    endpoint = {
        "deployedModels": [
            {"id": "11", "modelVersionId": "1"},
            {"id": "12", "modelVersionId": "2"},
        ],
        "trafficSplit": {"11": 90, "12": 10},
    }
    model = {"versions": {"1": {}, "2": {}}, "aliases": {"champion": "1", "challenger": "2"}}
    assert outcome_lines(steps, {"e": endpoint}, {"m": model}) == [
        "  decision : DEPLOY (custom): beats the champion",
        "  metrics  : official test split",
        "   *custom  accuracy 0.8750  ROC AUC 0.9300  log loss 0.2700  F1 0.7100  [lightgbm-0]",
        "  slices   : custom's accuracy gap sex 0.110",
        "  deployed : version 2; smoke test passed",
        "  endpoint : v1 90%, v2 10%",
        "  registry : 2 version(s); aliases challenger=v2, champion=v1",
    ]


def test_two_challengers_are_each_shown_and_the_chosen_one_marked():
    evaluate = {
        **EVALUATE,
        "challengers": {
            "custom": EVALUATE,
            "automl": {"metrics": {**METRICS, "roc_auc": 0.92}, "trainer": "vertex-automl"},
        },
    }
    decide = {**DECIDE, "trainer": "automl", "deploy": False, "reason": "below the champion"}
    steps = run_steps({"r": context({"evaluate": evaluate, "decide": decide})}, "r1")
    assert outcome_lines(steps, {}, {}) == [
        "  decision : KEEP CHAMPION (automl): below the champion",
        "  metrics  : official test split",
        "    custom  accuracy 0.8750  ROC AUC 0.9300  log loss 0.2700  F1 0.7100  [lightgbm-0]",
        "   *automl  accuracy 0.8750  ROC AUC 0.9200  log loss 0.2700  F1 0.7100  [vertex-automl]",
    ]


def test_a_run_that_never_decided_says_so():
    assert outcome_lines(run_steps({"r": context({"ingest": {}})}, "r1"), {}, {}) == [
        "  decision : none recorded (the run stopped before decide)"
    ]


def test_the_simulated_run_as_json_counts_its_calls_and_points_at_its_files(tmp_path):
    from simulation.run import SimulatedRun
    from simulation.wire import Check, WireEntry

    allowed = Check("aiplatform.pipelineJobs.create", "projects/s", True, "roles/aiplatform.user")
    denied = Check("storage.objects.create", "b/o", False, "no binding")
    wire = [
        WireEntry(1, 0.0, "build@s", "POST", "/p", "pipelineJobs.create", 200, [allowed]),
        WireEntry(2, 0.1, "planner@s", "POST", "/o", "objects.insert", 403, [denied]),
        WireEntry(3, 0.2, None, "GET", "/token", "metadata.token", 200),
    ]
    steps = {"decide": DECIDE}
    run = SimulatedRun(
        "PIPELINE_STATE_SUCCEEDED", 12.3456, wire, tmp_path, "", {}, [], None, "r1", steps
    )
    assert run.as_json() == {
        "state": "PIPELINE_STATE_SUCCEEDED",
        "run_id": "r1",
        "wall_seconds": 12.346,
        "steps": steps,
        "report": None,
        "requests": 3,
        "iam_checked": 2,
        "denied": 1,
        "wire_log": str(tmp_path / "wire.log"),
        "task_logs": str(tmp_path / "pipelines"),
    }


def test_the_traffic_line_is_in_version_order_and_leaves_out_empty_shares():
    from pipelines.summary import traffic_line

    assert traffic_line({"10": 10, "9": 90, "8": 0}) == "  endpoint : v9 90%, v10 10%"
    assert traffic_line({}) == "  endpoint : no traffic"


def test_the_simulated_life_as_json_keeps_each_chapter_and_its_run(tmp_path):
    from collections import Counter

    from simulation.life import Chapter, Life
    from simulation.platform import RunOutcome

    run = RunOutcome("r1", "PIPELINE_STATE_SUCCEEDED", ["  decision : DEPLOY"], "", [], None,
                     {"decide": DECIDE})  # fmt: skip
    life = Life([Chapter("run 1", ["  decision : DEPLOY"], run), Chapter("canary", ["promoted"])],
                12.5, Counter({"census-build@s": 3}), 40, tmp_path)  # fmt: skip
    found = life.as_json()
    assert [c["title"] for c in found["chapters"]] == ["run 1", "canary"]
    assert found["chapters"][0]["run"] == {
        "run_id": "r1", "state": "PIPELINE_STATE_SUCCEEDED", "steps": {"decide": DECIDE}
    }  # fmt: skip
    assert found["chapters"][1]["run"] is None and found["calls"] == {"census-build@s": 3}
    assert found["wire_log"] == str(tmp_path / "cloud" / "wire.log")
