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
FAILED = "tab:red"


def _when(row: dict) -> str:
    """A run's start as a person reads it on an axis: month-day and time (UTC)."""
    return row["started"][5:16].replace("T", " ")


def _ticks(ax, rows: list[dict]) -> None:
    step = max(1, len(rows) // 20)  # at most ~20 labels, however many runs
    ax.set_xticks(
        list(range(len(rows)))[::step],
        labels=[_when(r) for r in rows][::step],
        rotation=35,
        ha="right",
        fontsize=10,
    )


def metrics_figure(rows: list[dict]) -> str:
    xs = range(len(rows))
    fig, axes = plt.subplots(2, 1, figsize=(11, 7), sharex=True)
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
        failed = [x for x, r in zip(xs, rows, strict=True) if r.get("status") == "failed"]
        for x in failed:  # no metrics: a red line where the run failed
            ax.axvline(x, color=FAILED, alpha=0.4, linewidth=2)
        if failed:
            ax.plot([], [], color=FAILED, alpha=0.4, linewidth=2, label="FAILED")
        ax.set_ylabel(label, fontsize=11)
        ax.tick_params(labelsize=10)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="lower right", title="decision", fontsize=10)
    axes[0].set_title("Official test split metrics, run by run (oldest left)", fontsize=12)
    axes[1].set_xlabel("run started (UTC)", fontsize=11)
    _ticks(axes[1], rows)
    return png(fig)


def cost_figure(rows: list[dict]) -> str:
    fig, ax = plt.subplots(figsize=(11, 3.6))
    costs = [r["cost_usd"] or 0.0 for r in rows]
    bars = ax.bar(range(len(rows)), costs, color="tab:orange")
    if len(rows) <= 30:  # each bar labelled with its figure while they fit
        ax.bar_label(bars, labels=[f"${c:.4f}" if c else "" for c in costs], fontsize=9)
    ax.set_ylabel("USD", fontsize=11)
    ax.set_title("Estimated cost per run on Vertex AI (list prices)", fontsize=12)
    ax.tick_params(labelsize=10)
    ax.margins(y=0.2)
    _ticks(ax, rows)
    return png(fig)


def _cell(value, link: str | None = None) -> str:
    text = html.escape(str(value if value is not None else ""))
    return f'<td><a href="{html.escape(link)}">{text}</a></td>' if link else f"<td>{text}</td>"


def render(rows: list[dict]) -> str:
    header = (
        "run", "started (UTC)", "commit", "rows", "accuracy", "ROC AUC", "outcome", "version",
        "cost $", "report",
    )  # fmt: skip
    body = "".join(
        "<tr"
        + (' class="failed"' if r.get("status") == "failed" else "")
        + ">"
        + "".join(
            _cell(c)
            for c in (
                r.get("short_id", r["run_id"]),
                r["started"][:16].replace("T", " "),
                r["commit"],
                r["train_rows"],
                _f(r["accuracy"]),
                _f(r["roc_auc"]),
                r["outcome"] + (f": {r['error']}" if r.get("error") else ""),
                r["version"] or "",
                _f(r["cost_usd"]),
            )
        )
        + (_cell("evaluation", _link(r["report"])) if r.get("report") else _cell(""))
        + "</tr>"
        for r in reversed(rows)
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>census runs</title>
<style>body{{font-family:sans-serif;margin:2em;font-size:15px}}img{{max-width:100%}}
td,th{{padding:3px 10px;text-align:left}}tr:nth-child(even){{background:#f4f4f4}}
tr.failed td{{color:#b00020}}</style></head><body>
<h1>census-income: {len(rows)} run(s)</h1>
<img alt="metrics across runs" src="data:image/png;base64,{metrics_figure(rows)}">
<img alt="cost per run" src="data:image/png;base64,{cost_figure(rows)}">
<table><tr>{"".join(f"<th>{h}</th>" for h in header)}</tr>{body}</table>
</body></html>"""


def _link(path: str) -> str:
    return Path(path).resolve().as_uri()


def _f(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else ""


def write(path: str | Path, rows: list[dict]) -> Path:
    return write_text(path, render(rows))
