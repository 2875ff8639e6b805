"""Runs from step records: merged, found, compared, summarised and traced (pure)."""

from datetime import UTC, datetime, timedelta

import pytest

from promotion.domain import runs
from promotion.ports import StepRecord

T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)


def record(run_id: str, step: str, minutes: int, **facts) -> StepRecord:
    return StepRecord(run_id, step, T0 + timedelta(minutes=minutes), facts)


def ingest(commit="abc", rounds=1200, rows=32561) -> dict:
    return {
        "commit": commit,
        "parameters": {"training": {"num_boost_round": rounds}, "bars": {"min_roc_auc": 0.92}},
        "splits": {"train": {"uri": "gs://d/adult.data", "rows": rows, "quarantined": 3}},
    }


RECORDS = [
    record("run-a", "ingest", 0, **ingest()),
    record("run-a", "evaluate", 2, metrics={"roc_auc": 0.9296, "accuracy": 0.8748}),
    record("run-a", "decide", 3, deploy=True, reason="passes every bar"),
    record("run-a", "deploy", 4, version="4", traffic={"3": 90, "4": 10}),
    record("run-a", "run", 5, cost_usd=0.0318, wall_seconds=15.0),
    record("run-b", "ingest", 60, **ingest(commit="def", rounds=600)),
    record("run-b", "evaluate", 62, metrics={"roc_auc": 0.9292, "accuracy": 0.8748}),
    record("run-b", "decide", 63, deploy=False, reason="does not beat the champion"),
    record("run-b", "decide", 64, deploy=False, reason="retried: still does not"),
    record("run-c", "ingest", 120, **ingest(commit="ghi")),
]


def test_runs_are_merged_newest_first_and_a_retried_step_keeps_its_last_record():
    merged = runs.merge(reversed(RECORDS))
    assert [r.run_id for r in merged] == ["run-c", "run-b", "run-a"]
    assert merged[1].get("decide", "reason") == "retried: still does not"
    assert merged[2].started == T0
    assert [r.outcome for r in merged] == ["stopped after ingest", "KEEP", "DEPLOY"]
    approved = runs.merge([*RECORDS[:3], record("run-a", "approve", 4, candidate_uri="gs://c")])
    assert approved[0].outcome == "APPROVE"
    assert runs.merge([]) == []


def test_a_run_is_found_by_its_id_or_an_unambiguous_prefix():
    merged = runs.merge(RECORDS)
    assert runs.find(merged, "run-b").run_id == "run-b"
    with pytest.raises(LookupError, match=r"'run-' names 3 runs \(run-c, run-b, run-a\)"):
        runs.find(merged, "run-")
    with pytest.raises(LookupError, match="no run 'run-z' among 3 recorded run"):
        runs.find(merged, "run-z")
    merged.append(runs.Run("run-b2", T0, {}))
    assert runs.find(merged, "run-b").run_id == "run-b"  # exact beats prefix
    assert runs.find(merged, "b2").run_id == "run-b2"  # a tail: the short id


def test_latest_and_latest_n_count_back_from_the_newest_run():
    merged = runs.merge(RECORDS)
    assert runs.find(merged, "latest").run_id == "run-c"
    assert runs.find(merged, "latest~0").run_id == "run-c"
    assert runs.find(merged, "latest~2").run_id == "run-a"
    with pytest.raises(LookupError, match=r"'latest~3': only 3 recorded run\(s\)"):
        runs.find(merged, "latest~3")
    with pytest.raises(LookupError, match="no run 'latest~x'"):
        runs.find(merged, "latest~x")
    with pytest.raises(LookupError, match=r"only 0 recorded run\(s\)"):
        runs.find([], "latest")


def test_short_ids_are_the_shortest_tails_that_tell_every_run_apart():
    ids = [
        "census-promotion-2026-12-04-14-16-18-986280",
        "census-promotion-2026-12-04-14-16-09-564495",
        "census-promotion-2026-12-04-14-18-30-564495",  # the same microseconds
    ]
    made = runs.short_ids([runs.Run(i, T0) for i in ids])
    assert made == {ids[0]: "8-986280", ids[1]: "9-564495", ids[2]: "0-564495"}
    assert runs.short_ids([runs.Run(ids[0], T0)]) == {ids[0]: "986280"}
    assert runs.short_ids([runs.Run("ab", T0)]) == {"ab": "ab"}  # shorter than SHORT: whole
    assert runs.short_ids([]) == {}


def test_a_failed_run_is_failed_at_its_step_and_a_running_one_only_while_the_lock_is_held():
    failed = record("run-d", "run", 200, status="failed", failed_step="train", error="E: x")
    merged = runs.merge([*RECORDS, record("run-d", "ingest", 199, **ingest()), failed])
    assert merged[0].outcome == "FAILED at train" and merged[0].failed_step == "train"
    row = runs.summary_row(merged[0])
    assert (row["status"], row["failed_step"], row["error"]) == ("failed", "train", "E: x")
    # run-c recorded ingest only: killed, or still running if the workspace lock is held
    rest = merged[1:]
    assert runs.running(rest, in_progress=False) is None
    assert runs.running(rest, in_progress=True) == "run-c"
    assert runs.running(merged, in_progress=True) is None  # the newest finished (failed)
    running = runs.summary_row(rest[0], "c", is_running=True)
    assert (running["status"], running["outcome"]) == ("running", "RUNNING (after ingest)")
    assert runs.summary_row(rest[0])["status"] == "stopped"


def test_flatten_names_every_leaf():
    assert runs.flatten({"a": {"b": 1, "c": {"d": None}}, "e": [1, 2]}) == {
        "a.b": 1,
        "a.c.d": None,
        "e": [1, 2],
    }
    assert runs.flatten({}, "x") == {"x": {}}
    assert runs.flatten(3, "x") == {"x": 3}


def test_compare_puts_parameters_data_metrics_and_outcome_side_by_side():
    b, a = runs.merge(RECORDS)[1:]
    differences = runs.compare(a, b)
    changed = {d.key: (d.a, d.b) for d in differences if d.changed}
    assert changed == {
        "commit": ("abc", "def"),
        "parameters.training.num_boost_round": (1200, 600),
        "metrics.roc_auc": (0.9296, 0.9292),
        "deploy": (True, False),
        "reason": ("passes every bar", "retried: still does not"),
        "version": ("4", None),
        "traffic.3": (90, None),
        "traffic.4": (10, None),
        "cost_usd": (0.0318, None),
        "wall_seconds": (15.0, None),
    }
    unchanged = {d.key for d in differences if not d.changed}
    assert {"parameters.bars.min_roc_auc", "splits.train.rows", "metrics.accuracy"} <= unchanged
    # the changed values first, each group in reading order
    assert [d.changed for d in differences] == sorted(
        (d.changed for d in differences), reverse=True
    )
    order = ["parameters", "data", "metrics", "outcome", "cost"]
    for group in (differences[: len(changed)], differences[len(changed) :]):
        sections = [d.section for d in group]
        assert sections == sorted(sections, key=order.index)


def test_the_summary_row_holds_the_key_figures():
    row = runs.summary_row(runs.merge(RECORDS)[2])
    assert row == {
        "run_id": "run-a",
        "short_id": "run-a",
        "status": "succeeded",
        "failed_step": None,
        "error": None,
        "last_step": "run",
        "started": "2026-11-01T09:00:00+00:00",
        "commit": "abc",
        "train_rows": 32561,
        "quarantined": 3,
        "accuracy": 0.8748,
        "roc_auc": 0.9296,
        "trainer": None,  # recorded before trainers were named
        "outcome": "DEPLOY",
        "reason": "passes every bar",
        "version": "4",
        "cost_usd": 0.0318,
    }
    stopped = runs.summary_row(runs.Run("run-x", T0, {}))
    assert stopped["outcome"] == "no steps" and stopped["accuracy"] is None


def test_lineage_follows_a_version_back_to_its_commit_and_data():
    run = runs.merge(RECORDS)[2]
    alert = {"feature": "age", "measure": "drift"}
    chain = runs.lineage("4", {"run": "run-a", "commit": "abc"}, run, {"3": 90, "4": 10}, [alert])
    assert chain["commit"] == "abc" and chain["run"] == "run-a" and chain["run_recorded"]
    assert chain["data"]["train"]["uri"] == "gs://d/adult.data"
    assert chain["metrics"]["roc_auc"] == 0.9296
    assert chain["decision"] == {"outcome": "DEPLOY", "reason": "passes every bar"}
    assert chain["endpoint"] == {"traffic_percent": 10, "split": {"3": 90, "4": 10}}
    assert chain["alerts"] == [alert]
    # a version from before runs were recorded: what its labels say, and no more
    old = runs.lineage("1", {"run": "r0", "commit": "c0"}, None, {"4": 100}, [])
    assert (old["commit"], old["run"], old["run_recorded"]) == ("c0", "r0", False)
    assert old["endpoint"]["traffic_percent"] == 0 and old["metrics"] is None


def test_the_facts_steps_record():
    facts = runs.ingest_facts(
        "abc", {"data": {}}, {"train": {"rows": 5, "quarantined": 1}}, {"train": "gs://x"}
    )
    assert facts["splits"] == {"train": {"uri": "gs://x", "rows": 5, "quarantined": 1}}
    meta = {"hyperparameters": {"seed": 7}, "training_data": {"sha256": "s", "rows": 5}}
    evaluation = {
        "accuracy": 0.8,
        "roc_auc": 0.9,
        "roc_curve": {},
        "slice_accuracy_gap": {"sex": 0.1},
    }
    assert runs.evaluation_facts({"custom": meta}, {"custom": evaluation}) == {
        "trainer": "custom trainer (LightGBM)",
        "training": {"seed": 7},
        "training_data": {"sha256": "s", "rows": 5},
        "metrics": {"accuracy": 0.8, "roc_auc": 0.9},
        "slices": {"sex": 0.1},
    }


def test_with_two_challengers_each_is_recorded_and_the_chosen_one_is_shown():
    meta = {
        "custom": {"hyperparameters": {"seed": 7}},
        "automl": {
            "trainer": "automl-stand-in (FLAML 2.7.0)",
            "hyperparameters": {"num_leaves": 31},
            "automl_search": {"trials": 40},
        },
    }
    evaluations = {"custom": {"roc_auc": 0.93}, "automl": {"roc_auc": 0.94}}
    facts = runs.evaluation_facts(meta, evaluations)
    assert facts["metrics"] == {"roc_auc": 0.93}  # the first at the top: what compare lines up
    assert facts["challengers"]["automl"]["search"] == {"trials": 40}
    assert facts["challengers"]["automl"]["trainer"] == "automl-stand-in (FLAML 2.7.0)"
    assert "search" not in facts["challengers"]["custom"]
    records = [
        record("r", "evaluate", 0, **facts),
        record("r", "decide", 1, deploy=True, trainer="automl"),
    ]
    (run,) = runs.merge(records)
    assert runs.chosen_facts(run)["metrics"] == {"roc_auc": 0.94}
    row = runs.summary_row(run)
    assert (row["roc_auc"], row["trainer"]) == (0.94, "automl-stand-in (FLAML 2.7.0)")


def test_each_steps_status_in_a_run():
    done = runs.merge(RECORDS)[2]  # run-a: deployed, custom trainer (no trainer recorded)
    status = runs.step_status(done)
    assert status["ingest"] == status["decide"] == status["deploy"] == "succeeded"
    assert status["automl"] == "skipped" and status["approve"] == "skipped"
    assert status["train"] == "not run"  # the runner's durations were not recorded
    failed = runs.merge(
        [record("f", "run", 0, status="failed", failed_step="ingest", durations={})]
    )[0]
    assert runs.step_status(failed)["ingest"] == "failed"
    assert runs.step_status(failed)["validate"] == "not run"
    kept = runs.merge([*RECORDS[5:9]])[0]  # run-b: kept the champion
    assert {runs.step_status(kept)[s] for s in ("approve", "deploy", "monitor")} == {"skipped"}
    going = runs.merge([record("g", "ingest", 0, **ingest())])[0]
    assert runs.step_status(going, is_running=True)["validate"] == "running"
    both = record("h", "ingest", 0, **{**ingest(), "parameters": {"trainer": "automl"}})
    assert runs.step_status(runs.merge([both])[0])["train"] == "skipped"


def test_the_run_of_a_version_is_the_one_that_deployed_it_else_the_one_its_labels_name():
    merged = runs.merge(RECORDS)
    assert runs.run_of("4", {}, merged).run_id == "run-a"
    assert runs.run_of("7", {"run": "run-b"}, merged).run_id == "run-b"
    assert runs.run_of("7", {"run": "gone"}, merged) is None
