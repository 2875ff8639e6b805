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


def test_a_deployed_run_says_decision_metrics_deploy_traffic_and_aliases():
    steps = run_steps(
        {
            "r": context({"decide": DECIDE, "deploy": {"version": "2", "smoke": "passed"}}),
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
        "  metrics  : ROC AUC 0.9300, accuracy 0.8750, log loss 0.2700 (official test split)",
        "  deployed : version 2; smoke test passed",
        "  endpoint : v1 90%, v2 10%",
        "  registry : 2 version(s); aliases challenger=v2, champion=v1",
    ]


def test_a_run_that_never_decided_says_so():
    assert outcome_lines(run_steps({"r": context({"ingest": {}})}, "r1"), {}, {}) == [
        "  decision : none recorded (the run stopped before decide)"
    ]
