"""The lines every run ends with, local or on Vertex (simulated or not): one renderer, so
a person reads the same decision, metrics and slices wherever the run ran. Pure."""

from __future__ import annotations

from typing import Any

from kernel.names import CUSTOM_TRAINER


def decision_line(decision: dict[str, Any]) -> str:
    verdict = "DEPLOY" if decision.get("deploy") else "KEEP CHAMPION"
    return f"  decision : {verdict} ({decision.get('trainer', 'custom')}): {decision.get('reason')}"


def challenger_lines(evaluation: dict[str, dict], chosen: str) -> list[str]:
    """Each challenger's test metrics, side by side (the decided one marked)."""
    lines = ["  metrics  : official test split"]
    for name, m in evaluation.items():
        mark = "*" if name == chosen else " "
        lines.append(
            f"   {mark}{name:<7} accuracy {m['accuracy']:.4f}  ROC AUC {m['roc_auc']:.4f}  "
            f"log loss {m['log_loss']:.4f}  F1 {m['f1']:.4f}  "
            f"[{m.get('trainer', CUSTOM_TRAINER)}]"
        )
        if search := m.get("search"):
            limit = f" or {search['max_trials']} trials" if search.get("max_trials") else ""
            lines.append(
                f"{'':>11}searched {search['trials']} configurations in "
                f"{search['elapsed_seconds']:.0f}s (budget {search['budget_seconds']:.0f}s"
                f"{limit}), best holdout ROC AUC {search['best_holdout_roc_auc']:.4f}"
            )
    return lines


def slices_line(gaps: dict[str, float], chosen: str) -> str:
    return f"  slices   : {chosen}'s accuracy gap " + ", ".join(
        f"{k} {v:.3f}" for k, v in gaps.items()
    )


def evaluation_of(evaluate_facts: dict[str, Any], chosen: str) -> dict[str, dict]:
    """The evaluate step's recorded facts (promotion.domain.runs.evaluation_facts) in the
    shape the local run's evaluation artifact has: {challenger: metrics, trainer, search,
    slice_accuracy_gap}; a lone challenger's facts are recorded unnamed: the chosen one."""
    each = evaluate_facts.get("challengers") or {chosen: evaluate_facts}
    return {
        name: {
            **facts.get("metrics", {}),
            "trainer": facts.get("trainer", CUSTOM_TRAINER),
            "slice_accuracy_gap": facts.get("slices", {}),
            **({"search": facts["search"]} if facts.get("search") else {}),
        }
        for name, facts in each.items()
    }


def evaluation_lines(evaluation: dict[str, dict], chosen: str) -> list[str]:
    """The metrics of every challenger and the slices of the chosen one."""
    lines = challenger_lines(evaluation, chosen)
    gaps = evaluation.get(chosen, {}).get("slice_accuracy_gap")
    return [*lines, slices_line(gaps, chosen)] if gaps else lines


def run_lines(steps: dict[str, dict[str, Any]]) -> list[str]:
    """What a run's steps recorded (its Vertex AI Experiments run, or the local run log), as
    the summary says it: the decision, every challenger's metrics and the chosen one's
    slices, the approval or the deploy and its smoke test."""
    decide = steps.get("decide")
    if decide is None:
        return ["  decision : none recorded (the run stopped before decide)"]
    chosen = decide.get("trainer", "custom")
    lines = [decision_line(decide)]
    if "evaluate" in steps:
        lines += evaluation_lines(evaluation_of(steps["evaluate"], chosen), chosen)
    approve = steps.get("approve")
    if approve:
        where = approve.get("announced") or "nowhere: deploy it with mlops deploy"
        lines.append(f"  approved : {approve['candidate_uri']}; announced on {where}")
    deploy = steps.get("deploy")
    if deploy:
        lines.append(f"  deployed : version {deploy['version']}; smoke test {deploy['smoke']}")
    return lines


def traffic_line(traffic: dict[str, int]) -> str:
    """The endpoint's split, in version order."""
    split = sorted(traffic.items(), key=lambda kv: int(kv[0]))
    return "  endpoint : " + (", ".join(f"v{v} {p}%" for v, p in split if p) or "no traffic")
