"""`mlops monitor`: skew against the training baseline, drift between consecutive windows.

Thresholds come from the prod settings through the same function that sets the Vertex
monitoring job's thresholds (pipelines.params.feature_thresholds): one source of truth.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kernel import exit_codes
from kernel.atomic import write_text
from kernel.errors import Outcome, UserError
from monitoring.distances import alerts, jensen_shannon, l_infinity
from promotion.domain.histograms import Histogram
from promotion.domain.statistics import FORMAT
from promotion.ports import LoggedRequests
from trainer import schema


class Alerted(UserError):
    exit_code = exit_codes.ALERT


class NotEnoughTraffic(Outcome):
    """A window too small to judge: TFDV's distances on a few hundred rows of unchanged
    traffic cross the thresholds, so judging them would start retrainings for nothing."""

    exit_code = exit_codes.NOTHING_TO_JUDGE


@dataclass(frozen=True)
class Windows:
    """The sample behind a judgement: every table and report states it."""

    end: datetime
    length: timedelta
    rows: int
    previous_rows: int
    min_rows: int

    @property
    def judges_drift(self) -> bool:
        return self.previous_rows >= self.min_rows

    def check(self) -> None:
        if self.rows < self.min_rows:
            raise NotEnoughTraffic(
                f"not enough traffic ({self.rows:,} rows < {self.min_rows:,}) in the "
                f"{_duration(self.length)} window ending {self.end:%Y-%m-%d %H:%M} UTC; nothing "
                f"to judge (min_window_rows in the prod settings, or --min-rows)"
            )

    def line(self) -> str:
        previous = f"previous window {self.previous_rows:,} rows"
        if not self.judges_drift:
            previous += f" < {self.min_rows:,}: drift not judged"
        return (
            f"window: {_duration(self.length)} ending {self.end:%Y-%m-%d %H:%M} UTC, "
            f"{self.rows:,} rows; {previous}; minimum {self.min_rows:,}"
        )


def _duration(length: timedelta) -> str:
    seconds = int(length.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


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


def distance(kind: str, treatment: dict, control: dict) -> tuple[float | None, str | None]:
    """TFDV's comparison of one feature's statistics in two datasets (profiles' entries).

    As in TFDV: nothing when the treatment has no present value (skew's treatment is the
    baseline, drift's the current window); a categorical control without values still
    compares (every treatment share is a difference); a numeric control without a
    histogram, or one whose aligned buckets hold nothing, gives no distance.
    """
    if treatment["present"] == 0:
        return None, None
    if kind == "categorical":
        return l_infinity(treatment["counts"], control["counts"])
    if treatment["histogram"] is None or control["histogram"] is None:
        return None, None
    try:
        value = jensen_shannon(
            Histogram.from_json(treatment["histogram"]), Histogram.from_json(control["histogram"])
        )
    except ValueError:  # TFDV: "Unable to normalize an empty histogram", no measurement
        return None, None
    return value, None


def compare(reference: dict, current: dict, treatment_is_reference: bool) -> dict:
    """{feature: (distance, where)} between two profiles; none when a side has no rows."""
    found: dict[str, tuple[float | None, str | None]] = {}
    for feature in schema.FEATURES:
        if not reference["rows"] or not current["rows"]:
            found[feature.name] = (None, None)
            continue
        ref, now = reference["features"][feature.name], current["features"][feature.name]
        pair = (ref, now) if treatment_is_reference else (now, ref)
        found[feature.name] = distance(feature.kind, *pair)
    return found


def analyse(
    baseline: dict,
    current: dict,
    previous: dict | None,
    skew_thresholds: dict[str, float],
    drift_thresholds: dict[str, float],
) -> list[FeatureResult]:
    """Pure: one skew result per feature, and one drift result when there is a previous window.

    Skew is TFDV's validate_statistics(training, serving_statistics=window); drift is
    validate_statistics(window, previous_statistics=previous window).
    """
    skew = compare(baseline, current, treatment_is_reference=True)
    drift = compare(previous, current, treatment_is_reference=False) if previous else {}
    results = []
    for feature in schema.FEATURES:
        value, where = skew[feature.name]
        results.append(
            FeatureResult(
                feature.name, feature.kind, "skew", value, skew_thresholds[feature.name], where
            )
        )
        if previous is not None:
            value, where = drift[feature.name]
            results.append(
                FeatureResult(
                    feature.name,
                    feature.kind,
                    "drift",
                    value,
                    drift_thresholds[feature.name],
                    where,
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


def as_json(results: list[FeatureResult], windows: Windows, report: Path) -> dict:
    """`mlops monitor --json`: the window judged, every distance, the alerts, the report."""
    return {
        "window": {
            "end": windows.end.isoformat(),
            "length": _duration(windows.length),
            "rows": windows.rows,
            "previous_rows": windows.previous_rows,
            "min_rows": windows.min_rows,
            "drift_judged": windows.judges_drift,
        },
        "results": [{**asdict(r), "alert": r.alert} for r in results],
        "alerts": [f"{r.feature} ({r.measure})" for r in results if r.alert],
        "report": str(report),
    }


def _numeric_bars(ax, stats: dict, label: str, offset: int) -> None:
    """A standard histogram as bars over its own buckets (each dataset has its own range)."""
    histogram = Histogram.from_json(stats["histogram"])
    total = histogram.total or 1
    finite = [(lo, hi, c) for lo, hi, c in histogram.buckets if math.isfinite(lo + hi)]
    span = max((hi for _, hi, _ in finite), default=1) - min((lo for lo, _, _ in finite), default=0)
    for lo, hi, count in finite:
        width = (hi - lo) or span / 50 or 1
        ax.bar(
            lo,
            count / total,
            width=width,
            align="edge",
            alpha=0.5,
            color=f"C{offset}",
            edgecolor=f"C{offset}",
            label=label,
        )
        label = "_"  # one legend entry per dataset
    if histogram.num_nan:
        ax.annotate(
            f"{label.strip('_') or 'NaN'}: {histogram.num_nan / total:.1%} NaN",
            (0.02, 0.9 - 0.08 * offset),
            xycoords="axes fraction",
            fontsize=7,
        )


def _plot(title: str, kind: str, reference: dict, current: dict) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    if kind == "categorical":
        keys = sorted(set(reference["counts"]) | set(current["counts"]))
        for offset, (stats, label) in enumerate(((reference, "reference"), (current, "serving"))):
            total = sum(stats["counts"].values()) or 1
            shares = [stats["counts"].get(k, 0) / total for k in keys]
            ax.bar(
                [x + 0.4 * offset - 0.2 for x in range(len(keys))], shares, width=0.4, label=label
            )
        ax.set_xticks(range(len(keys)), labels=keys, rotation=45, ha="right", fontsize=7)
    else:
        for offset, (stats, label) in enumerate(((reference, "reference"), (current, "serving"))):
            if stats.get("histogram"):
                _numeric_bars(ax, stats, label, offset)
    ax.set(ylabel="share (missing values left out)", title=title)
    ax.legend()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def report_html(results, baseline, current, previous, windows: Windows) -> str:
    pictures = []
    for r in results:
        if not r.alert:
            continue
        reference = baseline if r.measure == "skew" else previous
        png = _plot(
            f"{r.feature}: {r.measure} {r.distance:.4f} > {r.threshold}",
            r.kind,
            reference["features"][r.feature],
            current["features"][r.feature],
        )
        pictures.append(f'<img src="data:image/png;base64,{png}">')
    body = "".join(pictures) or "<p>No feature alerted.</p>"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>census monitoring"
        f"</title></head><body style='font-family:sans-serif'><h1>Skew and drift</h1>"
        f"<p>Distances as TensorFlow Data Validation (Vertex AI Model Monitoring) computes "
        f"them: L-infinity for categorical features, Jensen-Shannon divergence over each "
        f"dataset's own standard histogram for numeric ones; missing values left out.</p>"
        f"<p>{html.escape(windows.line())}</p>"
        f"<pre>{html.escape(table(results))}</pre><h2>Distributions that alerted</h2>"
        f"{body}</body></html>"
    )


def check_baseline(baseline: dict, where: str) -> None:
    """A baseline from before TFDV's statistics cannot be compared: say so, and how to fix."""
    if baseline.get("format") != FORMAT:
        raise UserError(
            f"{where}: the skew baseline has format {baseline.get('format', 'none')!r}, this "
            f"monitor reads {FORMAT!r} (TFDV's statistics); run the pipeline again to write one"
        )


def run(
    *,
    requests: LoggedRequests,
    baseline: dict,
    skew_thresholds: dict,
    drift_thresholds: dict,
    window: timedelta,
    until: datetime | None,
    report_dir: Path,
    min_rows: int,
) -> tuple[list, Windows, Path]:
    """Profile two windows of the request log, judge them if they hold enough rows, write
    the report."""
    from monitoring.profiles import profile

    end = (until or datetime.now(UTC)).replace(tzinfo=None)
    if not requests.exists():
        raise UserError(f"no request log at {requests}: serve some traffic first (mlops serve)")
    current = profile(requests, end - window, end)
    previous = profile(requests, end - 2 * window, end - window)
    windows = Windows(end, window, current["rows"], previous["rows"], min_rows)
    windows.check()
    judged_previous = previous if windows.judges_drift else None
    results = analyse(baseline, current, judged_previous, skew_thresholds, drift_thresholds)
    path = report_dir / f"monitor-{time.strftime('%Y%m%d-%H%M%S')}.html"
    write_text(path, report_html(results, baseline, current, previous, windows))
    write_text(
        path.with_suffix(".json"),
        json.dumps(
            {
                "window_end": end.isoformat(),
                "window": str(window),
                "rows": current["rows"],
                "previous_rows": previous["rows"],
                "min_rows": min_rows,
                "drift_judged": windows.judges_drift,
                "results": [{**asdict(r), "alert": r.alert} for r in results],
            },
            indent=2,
        ),
    )
    return results, windows, path
