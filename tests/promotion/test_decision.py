"""Every branch of the deploy decision."""

from promotion.domain.decision import decide
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
