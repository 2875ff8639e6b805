"""`mlops monitor`: skew against the training baseline, drift between consecutive windows.

Thresholds come from the prod settings through the same function that sets the Vertex
monitoring job's thresholds (pipelines.params.feature_thresholds): one source of truth.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kernel import exit_codes
from kernel.atomic import write_text
from kernel.errors import UserError
from monitoring.distances import alerts, jensen_shannon, l_infinity
from trainer import schema


class Alerted(UserError):
    exit_code = exit_codes.ALERT


@dataclass(frozen=True)
class FeatureResult:
    feature: str
    kind: str
    measure: str  # "skew" or "drift"
    distance: float | None  # None: a window had no traffic
    threshold: float
    where: str | None = None  # the category with the largest difference (categorical)

    @property
    def alert(self) -> bool:
        return alerts(self.distance, self.threshold)


def distance(kind: str, reference, current) -> tuple[float | None, str | None]:
    """L-infinity for categorical counts, Jensen-Shannon for numeric histograms."""
    if kind == "categorical":
        if not sum(reference.values()) or not sum(current.values()):
            return None, None
        return l_infinity(reference, current)
    if not sum(reference) or not sum(current):
        return None, None
    return jensen_shannon(reference, current), None


def analyse(
    baseline: dict,
    current: dict,
    previous: dict | None,
    skew_thresholds: dict[str, float],
    drift_thresholds: dict[str, float],
) -> list[FeatureResult]:
    """Pure: one skew result per feature, and one drift result when there is a previous window."""
    results = []
    for feature in schema.FEATURES:
        kind = feature.kind
        now = current["features"][feature.name]
        value, where = distance(kind, baseline["features"][feature.name]["counts"], now)
        results.append(
            FeatureResult(feature.name, kind, "skew", value, skew_thresholds[feature.name], where)
        )
        if previous is not None:
            value, where = distance(kind, previous["features"][feature.name], now)
            results.append(
                FeatureResult(
                    feature.name, kind, "drift", value, drift_thresholds[feature.name], where
                )
            )
    return results


def parse_window(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if not match or int(match.group(1)) == 0:
        raise UserError(f"window {text!r} is not a duration like 30m, 1h or 2d")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return timedelta(**{unit: int(match.group(1))})


def table(results: list[FeatureResult]) -> str:
    lines = [f"{'feature':<16}{'kind':<13}{'measure':<8}{'distance':>10}{'threshold':>11}  status"]
    for r in results:
        shown = "no data" if r.distance is None else f"{r.distance:.4f}"
        status = "ALERT" if r.alert else "ok"
        extra = f" (most changed: {r.where})" if r.alert and r.where else ""
        lines.append(
            f"{r.feature:<16}{r.kind:<13}{r.measure:<8}{shown:>10}{r.threshold:>11.3f}"
            f"  {status}{extra}"
        )
    return "\n".join(lines)


def _plot(feature: str, kind: str, baseline_counts, counts, edges=None) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if kind == "categorical":
        keys = sorted(set(baseline_counts) | set(counts))
        ref = [baseline_counts.get(k, 0) for k in keys]
        now = [counts.get(k, 0) for k in keys]
        labels = keys
    else:
        ref, now = list(baseline_counts), list(counts)
        inner = [f"{edges[i]:.0f}–{edges[i + 1]:.0f}" for i in range(len(edges) - 1)]
        labels = ["< min", *inner, "> max", "missing"]
    total_ref, total_now = sum(ref) or 1, sum(now) or 1
    fig, ax = plt.subplots(figsize=(max(6, len(labels) * 0.45), 3.5))
    xs = range(len(labels))
    ax.bar([x - 0.2 for x in xs], [v / total_ref for v in ref], width=0.4, label="reference")
    ax.bar([x + 0.2 for x in xs], [v / total_now for v in now], width=0.4, label="serving")
    ax.set_xticks(list(xs), labels=labels, rotation=45, ha="right", fontsize=7)
    ax.set(ylabel="share", title=feature)
    ax.legend()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def report_html(results, baseline, current, previous) -> str:
    pictures = []
    for r in results:
        if not r.alert:
            continue
        stats = baseline["features"][r.feature]
        reference = stats["counts"] if r.measure == "skew" else previous["features"][r.feature]
        png = _plot(
            f"{r.feature}: {r.measure} {r.distance:.4f} > {r.threshold}",
            r.kind,
            reference,
            current["features"][r.feature],
            stats.get("edges"),
        )
        pictures.append(f'<img src="data:image/png;base64,{png}">')
    body = "".join(pictures) or "<p>No feature alerted.</p>"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>census monitoring"
        f"</title></head><body style='font-family:sans-serif'><h1>Skew and drift</h1>"
        f"<pre>{html.escape(table(results))}</pre><h2>Distributions that alerted</h2>"
        f"{body}</body></html>"
    )


def run(
    *,
    request_log: Path,
    baseline: dict,
    skew_thresholds: dict,
    drift_thresholds: dict,
    window: timedelta,
    until: datetime | None,
    report_dir: Path,
) -> tuple[list, Path]:
    """Read two windows of the request log, judge them, write the report."""
    from adapters.local import request_log as log
    from monitoring.profiles import profile

    end = (until or datetime.now(UTC)).replace(tzinfo=None)
    if not log.exists(request_log):
        raise UserError(f"no request log at {request_log}: serve some traffic first (mlops serve)")
    with log.reader(request_log) as con:
        current = profile(con, baseline, end - window, end)
        previous = profile(con, baseline, end - 2 * window, end - window)
    if current["rows"] == 0:
        stamp = end.strftime("%Y-%m-%d %H:%M")
        raise UserError(
            f"no successful requests logged in the window ending {stamp} UTC; nothing to judge"
        )
    results = analyse(
        baseline, current, previous if previous["rows"] else None, skew_thresholds, drift_thresholds
    )
    path = report_dir / f"monitor-{time.strftime('%Y%m%d-%H%M%S')}.html"
    write_text(path, report_html(results, baseline, current, previous))
    write_text(
        path.with_suffix(".json"),
        json.dumps(
            {
                "window_end": end.isoformat(),
                "window": str(window),
                "rows": current["rows"],
                "previous_rows": previous["rows"],
                "results": [{**asdict(r), "alert": r.alert} for r in results],
            },
            indent=2,
        ),
    )
    return results, path
