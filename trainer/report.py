"""The evaluation report: one self-contained HTML page with the pictures a reviewer looks at."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from kernel.atomic import write_text
from trainer import schema


def png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def roc_figure(results: dict[str, dict]) -> str:
    """Every challenger's ROC curve on one set of axes."""
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    for label, metrics in results.items():
        roc = metrics["roc_curve"]
        ax.plot(roc["fpr"], roc["tpr"], label=f"{label} (AUC {metrics['roc_auc']:.4f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC curve")
    ax.legend(loc="lower right", fontsize=8)
    return png(fig)


def calibration_figure(results: dict[str, dict]) -> str:
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    for label, metrics in results.items():
        cal = metrics["calibration"]
        ax.plot(cal["predicted"], cal["observed"], marker="o", label=label)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    ax.set(xlabel="mean predicted P(>50K)", ylabel="observed share >50K", title="Calibration")
    ax.legend(loc="upper left", fontsize=8)
    return png(fig)


def confusion_figure(metrics: dict) -> str:
    fig, ax = plt.subplots(figsize=(4.5, 4.0))
    matrix = metrics["confusion_matrix"]
    ax.imshow(matrix, cmap="Blues")
    total = sum(map(sum, matrix))
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            colour = "white" if count > total / 4 else "black"
            ax.text(j, i, f"{count:,}\n{count / total:.1%}", ha="center", va="center", color=colour)
    ax.set_xticks([0, 1], labels=list(schema.CLASSES))
    ax.set_yticks([0, 1], labels=list(schema.CLASSES))
    ax.set(
        xlabel="predicted", ylabel="actual", title=f"Confusion matrix (t={metrics['threshold']})"
    )
    return png(fig)


def slices_figure(metrics: dict) -> str:
    slices = metrics["slices"]
    fig, axes = plt.subplots(1, len(slices), figsize=(5.5 * len(slices), 4.0), squeeze=False)
    for ax, (name, by_value) in zip(axes[0], slices.items(), strict=True):
        values = list(by_value)
        accuracy = [by_value[v]["accuracy"] for v in values]
        auc = [by_value[v]["roc_auc"] or 0.0 for v in values]
        xs = range(len(values))
        ax.bar([x - 0.2 for x in xs], accuracy, width=0.4, label="accuracy")
        ax.bar([x + 0.2 for x in xs], auc, width=0.4, label="ROC AUC")
        ax.axhline(metrics["accuracy"], color="C0", linestyle=":", linewidth=1)
        ax.set_xticks(
            list(xs),
            labels=[f"{v}\nn={by_value[v]['count']:,}" for v in values],
            fontsize=8,
            rotation=20,
            ha="right",
        )
        ax.set_ylim(0.5, 1.08)
        ax.set_title(f"by {name} (accuracy gap {metrics['slice_accuracy_gap'][name]:.3f})")
        ax.legend(loc="upper center", ncol=2, fontsize=8)
    return png(fig)


def _slice_table(metrics: dict) -> str:
    rows = []
    for name, by_value in metrics["slices"].items():
        for value, m in by_value.items():
            auc = "n/a" if m["roc_auc"] is None else f"{m['roc_auc']:.4f}"
            rows.append(
                f"<tr><td>{html.escape(name)}</td><td>{html.escape(value)}</td>"
                f"<td>{m['count']:,}</td><td>{m['positive_rate']:.3f}</td>"
                f"<td>{m['accuracy']:.4f}</td><td>{auc}</td><td>{m['f1']:.4f}</td></tr>"
            )
    return (
        "<table><tr><th>feature</th><th>slice</th><th>rows</th><th>share &gt;50K</th>"
        "<th>accuracy</th><th>ROC AUC</th><th>F1</th></tr>" + "".join(rows) + "</table>"
    )


HEADLINE = ("accuracy", "roc_auc", "log_loss", "f1")


def render(results: dict[str, dict], title: str = "Census income model: evaluation") -> str:
    """`results`: each challenger's metrics by its label (one, or several side by side)."""
    (first, *_) = results.values()
    comparison = "".join(
        f"<tr><td style='text-align:left'>{html.escape(label)}</td>"
        + "".join(f"<td>{metrics[key]:.4f}</td>" for key in HEADLINE)
        + f"<td>{max(metrics['slice_accuracy_gap'].values(), default=0.0):.4f}</td></tr>"
        for label, metrics in results.items()
    )
    pictures = "".join(
        f'<img src="data:image/png;base64,{b64}">'
        for b64 in (roc_figure(results), calibration_figure(results))
    )
    each = "".join(
        f"<h2>{html.escape(label)}</h2>"
        f'<img src="data:image/png;base64,{confusion_figure(metrics)}">'
        f'<img src="data:image/png;base64,{slices_figure(metrics)}">{_slice_table(metrics)}'
        for label, metrics in results.items()
    )
    header = "".join(f"<th>{key.replace('_', ' ')}</th>" for key in HEADLINE)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}}img{{margin:.5em}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.2em .6em;text-align:right}}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Official test split (adult.test), {first["count"]:,} rows.</p>
<table><tr><th>challenger</th>{header}<th>max slice gap</th></tr>{comparison}</table>
<div>{pictures}</div>
{each}
</body></html>
"""


def write_report(path: str | Path, results: dict[str, dict]) -> Path:
    return write_text(path, render(results))
