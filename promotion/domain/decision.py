"""Deploy or not: absolute bars first, then the challenger must beat the prod champion."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from settings import Bars

# The metric a challenger must beat the champion on; higher is better.
PRIMARY_METRIC = "roc_auc"


@dataclass(frozen=True)
class Decision:
    deploy: bool
    reason: str
    challenger: dict[str, Any]
    champion: dict[str, Any] | None
    trainer: str = "custom"  # which challenger this is about (docs/automl.md)
    # With several challengers: each one's own outcome against the bars and the champion.
    challengers: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _summary(metrics: Mapping[str, Any]) -> dict[str, Any]:
    version = {"version": metrics["version"]} if "version" in metrics else {}
    return {
        **version,  # the champion's: what deploy checks prod still has
        "roc_auc": metrics["roc_auc"],
        "accuracy": metrics["accuracy"],
        "log_loss": metrics["log_loss"],
        "max_slice_gap": max(metrics.get("slice_accuracy_gap", {}).values(), default=0.0),
    }


def decide(
    challenger: Mapping[str, Any],
    champion: Mapping[str, Any] | None,
    bars: Bars,
    on_device: dict[str, Any] | None = None,
) -> Decision:
    """`challenger`/`champion`: metrics on the same test split (trainer.evaluate.evaluate);
    `on_device`: the on-device model's parity (trainer.ondevice.Parity), a bar of its own:
    a version whose ONNX model disagrees with it is not deployed.

    Deploy only if every absolute bar passes AND, when a champion exists, the challenger's
    ROC AUC exceeds the champion's by strictly more than the margin (a tie never deploys,
    so re-running on the same data changes nothing in prod).
    """
    ours = _summary(challenger)
    theirs = _summary(champion) if champion else None
    failures = []
    if ours["roc_auc"] < bars.min_roc_auc:
        failures.append(f"ROC AUC {ours['roc_auc']:.4f} < bar {bars.min_roc_auc:.4f}")
    if ours["accuracy"] < bars.min_accuracy:
        failures.append(f"accuracy {ours['accuracy']:.4f} < bar {bars.min_accuracy:.4f}")
    if ours["max_slice_gap"] > bars.max_slice_gap:
        failures.append(
            f"slice accuracy gap {ours['max_slice_gap']:.4f} > bar {bars.max_slice_gap:.4f}"
        )
    if on_device is not None and not on_device["passed"]:
        failures.append(f"on-device model: {on_device['reason']}")
    if failures:
        return Decision(False, "below an absolute bar: " + "; ".join(failures), ours, theirs)
    if theirs is None:
        return Decision(True, "passes every bar and prod has no champion yet", ours, theirs)
    gain = ours[PRIMARY_METRIC] - theirs[PRIMARY_METRIC]
    versus = (
        f"challenger ROC AUC {ours['roc_auc']:.4f} vs champion {theirs['roc_auc']:.4f} "
        f"(gain {gain:+.4f}, margin {bars.champion_margin:.4f})"
    )
    if gain > bars.champion_margin:
        return Decision(True, f"beats the champion: {versus}", ours, theirs)
    return Decision(False, f"does not beat the champion by the margin: {versus}", ours, theirs)


def decide_among(
    challengers: Mapping[str, Mapping[str, Any]],
    champion: Mapping[str, Any] | None,
    bars: Bars,
    on_device: dict[str, dict[str, Any] | None] | None = None,
) -> Decision:
    """`challengers`: each trainer's metrics by its name, in order of preference on a tie.

    Each is held to every bar and to the champion on its own (`decide`); among those that
    would deploy, the best ROC AUC is chosen (a tie keeps the first named: the custom
    trainer, whose runs are reproducible). When none would deploy, the decision is about the
    best of them, and the reason still names every challenger's outcome.
    """
    if not challengers:
        raise ValueError("no challenger to decide about: every trainer was skipped")
    parity = on_device or {}
    each = {
        name: decide(metrics, champion, bars, on_device=parity.get(name))
        for name, metrics in challengers.items()
    }
    if len(each) == 1:
        ((name, only),) = each.items()
        return replace(only, trainer=name)
    passing = [name for name, d in each.items() if d.deploy] or list(each)
    chosen = max(passing, key=lambda name: each[name].challenger[PRIMARY_METRIC])
    outcome = "chosen" if each[chosen].deploy else "best of the challengers, none deploys"
    reason = f"{chosen} {outcome}: " + "; ".join(f"{n}: {d.reason}" for n, d in each.items())
    return replace(
        each[chosen],
        reason=reason,
        trainer=chosen,
        challengers={
            name: {"deploy": d.deploy, "reason": d.reason, **d.challenger}
            for name, d in each.items()
        },
    )


def compared_with(decision: dict[str, Any]) -> str | None:
    """The champion version a recorded decision compared its challenger with (None: prod
    had no champion). Refuses a record that cannot say, rather than guess."""
    champion = decision.get("champion")
    if champion is None:
        return None
    if not isinstance(champion, dict) or not isinstance(champion.get("version"), str):
        raise ValueError("the decision does not record which champion it compared with")
    return str(champion["version"])


def champion_moved(compared: str | None, current: str | None) -> str | None:
    """Why a decision no longer holds: prod's champion is not the one it was compared with.
    Two runs deciding at once both see "no champion yet"; the second must not deploy."""
    if compared == current:
        return None
    then = f"version {compared}" if compared else "no champion"
    now = f"version {current}" if current else "no champion"
    return (
        f"prod's champion changed since this candidate was decided: it was compared with "
        f"{then}, prod now has {now}; nothing deployed (run the pipeline again to compare it "
        "with the current champion)"
    )
