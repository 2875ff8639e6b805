"""Metrics across runs: one self-contained HTML page (mlops runs --html).

Takes the rows `promotion.domain.runs.summary_row` makes (plain dicts), oldest first, so it
needs nothing above the model layer.
"""

from __future__ import annotations

import html
from pathlib import Path

from kernel.atomic import write_text
from trainer.report import plt, png

COLOURS = {"DEPLOY": "tab:green", "APPROVE": "tab:blue", "KEEP": "tab:grey"}


def metrics_figure(rows: list[dict]) -> str:
    xs = range(len(rows))
    fig, axes = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    for ax, key, label in ((axes[0], "roc_auc", "ROC AUC"), (axes[1], "accuracy", "accuracy")):
        values = [r[key] for r in rows]
        ax.plot(xs, values, color="tab:blue", linewidth=1, zorder=1)
        for outcome, colour in COLOURS.items():
            picked = [
                (x, v)
                for x, v, r in zip(xs, values, rows, strict=True)
                if r["outcome"] == outcome and v is not None
            ]
            if picked:
                ax.scatter(*zip(*picked, strict=True), color=colour, label=outcome, zorder=2)
        ax.set(ylabel=label)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="lower right", title="decision")
    axes[0].set_title("Official test split metrics, run by run (oldest left)")
    step = max(1, len(rows) // 30)  # at most ~30 labels, however many runs
    axes[1].set_xticks(
        list(xs)[::step],
        labels=[r["run_id"][-15:] for r in rows][::step],
        rotation=60,
        ha="right",
        fontsize=7,
    )
    return png(fig)


def cost_figure(rows: list[dict]) -> str:
    fig, ax = plt.subplots(figsize=(9, 2.8))
    ax.bar(range(len(rows)), [r["cost_usd"] or 0.0 for r in rows], color="tab:orange")
    ax.set(ylabel="USD", title="Estimated cost per run on Vertex AI (list prices)")
    ax.set_xticks([])
    return png(fig)


def render(rows: list[dict]) -> str:
    header = ("run", "started", "commit", "rows", "accuracy", "ROC AUC", "decision", "version")
    cells = [
        (
            r["run_id"],
            r["started"],
            r["commit"],
            r["train_rows"],
            _f(r["accuracy"]),
            _f(r["roc_auc"]),
            r["outcome"],
            r["version"] or "",
        )
        for r in reversed(rows)
    ]
    table = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(str(c if c is not None else ''))}</td>" for c in row)
        + "</tr>"
        for row in cells
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>census runs</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:2px 8px;text-align:left}}
tr:nth-child(even){{background:#f4f4f4}}</style></head><body>
<h1>census-income: {len(rows)} run(s)</h1>
<img alt="metrics across runs" src="data:image/png;base64,{metrics_figure(rows)}">
<img alt="cost per run" src="data:image/png;base64,{cost_figure(rows)}">
<table><tr>{"".join(f"<th>{h}</th>" for h in header)}</tr>{table}</table>
</body></html>"""


def _f(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else ""


def write(path: str | Path, rows: list[dict]) -> Path:
    return write_text(path, render(rows))
