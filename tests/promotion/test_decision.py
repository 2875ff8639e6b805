"""Every branch of the deploy decision."""

from dataclasses import replace

import pytest

from promotion.domain.decision import decide, decide_among
from settings import Bars

BARS = Bars(min_roc_auc=0.92, min_accuracy=0.86, max_slice_gap=0.15, champion_margin=0.001)


def metrics(auc=0.93, acc=0.87, gap=0.10, log_loss=0.28) -> dict:
    return {
        "roc_auc": auc,
        "accuracy": acc,
        "log_loss": log_loss,
        "slice_accuracy_gap": {"sex": gap, "race": gap / 2},
    }


def test_below_an_absolute_bar_never_deploys_even_without_champion():
    d = decide(metrics(auc=0.91), None, BARS)
    assert not d.deploy
    assert d.reason == "below an absolute bar: ROC AUC 0.9100 < bar 0.9200"
    d = decide(metrics(acc=0.80, gap=0.2), None, BARS)
    assert d.reason == (
        "below an absolute bar: accuracy 0.8000 < bar 0.8600; "
        "slice accuracy gap 0.2000 > bar 0.1500"
    )


def test_no_champion_yet_deploys():
    d = decide(metrics(), None, BARS)
    assert d.deploy and d.reason == "passes every bar and prod has no champion yet"
    assert d.champion is None and d.challenger["roc_auc"] == 0.93


def test_above_bars_but_not_better_than_champion_by_margin():
    d = decide(metrics(auc=0.9305), metrics(auc=0.93), BARS)
    assert not d.deploy
    assert d.reason.startswith("does not beat the champion by the margin")
    assert "(gain +0.0005, margin 0.0010)" in d.reason


def test_a_tie_never_deploys_even_with_zero_margin():
    zero = BARS.model_copy(update={"champion_margin": 0.0})
    assert not decide(metrics(), metrics(), zero).deploy


def test_better_than_champion_by_margin_deploys():
    d = decide(metrics(auc=0.935), metrics(auc=0.93), BARS)
    assert d.deploy and d.reason.startswith("beats the champion")
    assert d.as_dict()["champion"]["roc_auc"] == 0.93


def test_an_on_device_model_that_disagrees_is_a_bar_the_version_fails():
    why = "ONNX predictions differ from LightGBM's by at most 0.0003 ...: more than 1e-05"
    d = decide(metrics(auc=0.95), metrics(), BARS, on_device={"passed": False, "reason": why})
    assert not d.deploy and d.reason == f"below an absolute bar: on-device model: {why}"
    passed = {"passed": True, "reason": "within"}
    assert decide(metrics(auc=0.95), metrics(), BARS, on_device=passed).deploy


# Several challengers (trainer=both) -----------------------------------------------------


def test_of_several_that_pass_the_best_roc_auc_is_chosen_and_each_outcome_named():
    d = decide_among({"custom": metrics(0.93), "automl": metrics(0.94)}, metrics(0.925), BARS)
    assert (d.deploy, d.trainer) == (True, "automl")
    assert d.challenger["roc_auc"] == 0.94
    assert d.reason.startswith("automl chosen: custom: beats the champion")
    assert "; automl: beats the champion" in d.reason
    assert d.challengers["custom"]["deploy"] and d.challengers["custom"]["roc_auc"] == 0.93


def test_a_tie_keeps_the_first_named_trainer():
    d = decide_among({"custom": metrics(0.93), "automl": metrics(0.93)}, None, BARS)
    assert d.trainer == "custom"


def test_a_better_challenger_below_a_bar_loses_to_one_that_passes():
    d = decide_among({"custom": metrics(0.93), "automl": metrics(0.95, acc=0.80)}, None, BARS)
    assert (d.deploy, d.trainer) == (True, "custom")
    assert "automl: below an absolute bar: accuracy 0.8000 < bar 0.8600" in d.reason


def test_a_failed_on_device_check_keeps_that_challenger_out():
    failed = {"passed": False, "reason": "ONNX predictions differ by 0.01"}
    d = decide_among(
        {"custom": metrics(0.93), "automl": metrics(0.94)},
        None,
        BARS,
        on_device={"custom": {"passed": True, "reason": "ok"}, "automl": failed},
    )
    assert d.trainer == "custom" and "on-device model: ONNX predictions differ" in d.reason


def test_when_none_deploys_the_decision_is_about_the_best_and_names_both():
    d = decide_among({"custom": metrics(0.93), "automl": metrics(0.925)}, metrics(0.95), BARS)
    assert (d.deploy, d.trainer) == (False, "custom")
    assert d.reason.startswith("custom best of the challengers, none deploys: custom: ")
    assert "automl: does not beat the champion" in d.reason


def test_one_challenger_decides_as_before_and_says_which_trainer():
    alone = decide_among({"automl": metrics()}, None, BARS)
    assert alone == replace(decide(metrics(), None, BARS), trainer="automl")
    assert alone.challengers == {}
    with pytest.raises(ValueError, match="every trainer was skipped"):
        decide_among({}, None, BARS)
