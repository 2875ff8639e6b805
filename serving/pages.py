"""The local dashboard's pages (`mlops serve`'s `/` and `/versions/V`), rendered on the
server from plain dicts (serving/dashboard.py gathers them): HTML with inline SVG pictures,
no script and no build step. Pure: every value is escaped here."""

from __future__ import annotations

from html import escape
from typing import Any

STATUS_COLOURS = {
    "succeeded": "#2e7d32",
    "failed": "#c62828",
    "running": "#1565c0",
    "skipped": "#9e9e9e",
    "not run": "#bdbdbd",
}
STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em 2em;color:#222;max-width:72em}
h1{margin-bottom:.2em} h2{margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse} td,th{padding:3px 10px;text-align:left;vertical-align:top}
tr:nth-child(even){background:#f6f6f6} .failed td{color:#b00020} .muted{color:#666}
svg text{font-family:system-ui,sans-serif} a{color:#1565c0}
"""


def page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        f"</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _f(value: Any, digits: int = 4) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) else "-"


def table(header: list[str], rows: list[list[str]], classes: list[str] | None = None) -> str:
    """Cells are HTML already (escaped by the caller)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        f'<tr class="{classes[i] if classes else ""}">' + "".join(f"<td>{c}</td>" for c in row)
        + "</tr>"
        for i, row in enumerate(rows)
    )  # fmt: skip
    return f"<table><tr>{head}</tr>{body}</table>"


def traffic_svg(traffic: dict[str, int]) -> str:
    """The endpoint's split as one bar, a segment per version."""
    width, x, parts = 600, 0.0, []
    for i, (version, percent) in enumerate(sorted(traffic.items(), key=lambda kv: int(kv[0]))):
        w = width * percent / 100
        colour = ("#1565c0", "#f9a825", "#6a1b9a", "#00838f")[i % 4]
        parts.append(
            f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="28" fill="{colour}">'
            f"<title>version {_e(version)}: {percent}%</title></rect>"
            f'<text x="{x + 6:.1f}" y="19" fill="white" font-size="13">v{_e(version)} '
            f"{percent}%</text>"
        )
        x += w
    return (
        f'<svg id="traffic" role="img" aria-label="traffic split" width="{width}" height="28">'
        + ("".join(parts) or '<text x="0" y="19">no traffic</text>')
        + "</svg>"
    )


def layers(edges: list[tuple[str, str]], nodes: list[str]) -> dict[str, int]:
    """Each node's column: the length of the longest path reaching it (a DAG's layering)."""
    column = {n: 0 for n in nodes}
    for _ in nodes:  # relax; at most len(nodes) rounds in a DAG
        for a, b in edges:
            column[b] = max(column[b], column[a] + 1)
    return column


def dag_svg(nodes: list[str], edges: list[tuple[str, str]], status: dict[str, str]) -> str:
    """The pipeline's steps, left to right, each coloured by its status in the last run."""
    column = layers(edges, nodes)
    rows: dict[int, int] = {}
    where = {}
    for n in nodes:
        c = column[n]
        where[n] = (20 + c * 135, 20 + rows.get(c, 0) * 58)
        rows[c] = rows.get(c, 0) + 1
    width = 20 + (max(column.values(), default=0) + 1) * 135
    height = 20 + max(rows.values(), default=1) * 58
    lines = "".join(
        f'<line x1="{where[a][0] + 110}" y1="{where[a][1] + 18}" x2="{where[b][0]}" '
        f'y2="{where[b][1] + 18}" stroke="#888" marker-end="url(#arrow)"/>'
        for a, b in edges
    )
    boxes = "".join(
        f'<g class="step" data-step="{_e(n)}" data-status="{_e(status.get(n, "not run"))}">'
        f'<rect x="{x}" y="{y}" width="110" height="36" rx="6" '
        f'fill="{STATUS_COLOURS.get(status.get(n, "not run"), "#bdbdbd")}"/>'
        f'<text x="{x + 55}" y="{y + 16}" text-anchor="middle" fill="white" font-size="13">'
        f"{_e(n)}</text>"
        f'<text x="{x + 55}" y="{y + 30}" text-anchor="middle" fill="white" font-size="10">'
        f"{_e(status.get(n, 'not run'))}</text></g>"
        for n, (x, y) in where.items()
    )
    return (
        f'<svg id="dag" role="img" aria-label="pipeline steps" width="{width}" '
        f'height="{height}"><defs><marker id="arrow" markerWidth="8" markerHeight="8" '
        f'refX="8" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#888"/></marker>'
        f"</defs>{lines}{boxes}</svg>"
    )


def lineage_svg(chain: dict[str, Any], short_id: str | None = None) -> str:
    """commit -> run -> data -> model -> endpoint, as boxes joined by arrows."""
    train = chain.get("data", {}).get("train", {})
    metrics = chain.get("metrics") or {}
    boxes = [
        ("commit", str(chain.get("commit") or "unknown")[:12]),
        ("run", short_id or str(chain.get("run") or "unknown")[-22:]),
        ("data", f"train {train.get('rows', '?'):,} rows" if train else "not recorded"),
        ("model", f"v{chain['version']} ROC AUC {_f(metrics.get('roc_auc'))}"),
        ("endpoint", f"{chain['endpoint']['traffic_percent']}% of traffic"),
        ("alerts", f"{len(chain.get('alerts', []))} since deployed"),
    ]
    parts = []
    for i, (title, text) in enumerate(boxes):
        x = 10 + i * 165
        parts.append(
            f'<g class="link" data-kind="{title}"><rect x="{x}" y="10" width="150" height="50" '
            f'rx="6" fill="#eef3fb" stroke="#1565c0"/><text x="{x + 75}" y="30" '
            f'text-anchor="middle" font-size="12" font-weight="bold">{title}</text>'
            f'<text x="{x + 75}" y="48" text-anchor="middle" font-size="11">{_e(text)}</text></g>'
        )
        if i:
            parts.append(
                f'<line x1="{x - 15}" y1="35" x2="{x}" y2="35" stroke="#1565c0" '
                f'marker-end="url(#arrow)"/>'
            )
    return (
        f'<svg id="lineage" role="img" aria-label="lineage" width="{10 + len(boxes) * 165}" '
        f'height="70"><defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="8" '
        f'refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#1565c0"/></marker></defs>'
        + "".join(parts)
        + "</svg>"
    )


def bars_svg(values: dict[str, float], bar: float | None, svg_id: str, label: str) -> str:
    """Horizontal bars (one per key), with the bar a value must stay under as a red line."""
    if not values:
        return '<p class="muted">none recorded</p>'
    top = max([*values.values(), bar or 0]) or 1
    parts = []
    for i, (name, value) in enumerate(values.items()):
        y = 8 + i * 26
        w = 300 * value / top
        parts.append(
            f'<text x="0" y="{y + 14}" font-size="12">{_e(name)}</text>'
            f'<rect x="150" y="{y}" width="{w:.1f}" height="18" fill="#5c6bc0"/>'
            f'<text x="{156 + w:.1f}" y="{y + 14}" font-size="11">{value:.3f}</text>'
        )
    height = 16 + len(values) * 26
    if bar:
        x = 150 + 300 * bar / top
        parts.append(
            f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height}" stroke="#c62828" '
            f'stroke-dasharray="4"/><text x="{x + 3:.1f}" y="{height - 2}" font-size="10" '
            f'fill="#c62828">bar {bar}</text>'
        )
    return (
        f'<svg id="{svg_id}" role="img" aria-label="{escape(label)}" width="520" '
        f'height="{height}">{"".join(parts)}</svg>'
    )


def monitoring_svg(analyses: list[dict[str, Any]]) -> str:
    """One column per analysis, oldest left: its height the alerts it raised, grey when
    none; the rows it judged under it."""
    if not analyses:
        return '<p class="muted">no monitoring analysis yet (<code>mlops monitor</code>)</p>'
    most = max(len(a["alerts"]) for a in analyses) or 1
    parts = []
    for i, a in enumerate(analyses):
        x = 40 + i * 46
        n = len(a["alerts"])
        h = 10 if n == 0 else 10 + 110 * n / most
        parts.append(
            f'<rect class="analysis" data-alerts="{n}" x="{x}" y="{130 - h:.1f}" width="34" '
            f'height="{h:.1f}" fill="{"#c62828" if n else "#9e9e9e"}"><title>'
            f"{_e(a['window_end'])}: {n} alert(s), {a['rows']:,} rows</title></rect>"
            f'<text x="{x + 17}" y="{125 - h:.1f}" text-anchor="middle" font-size="11">{n}</text>'
            f'<text x="{x + 17}" y="146" text-anchor="middle" font-size="9">'
            f"{_e(a['window_end'][5:16].replace('T', ' '))}</text>"
        )
    return (
        f'<svg id="monitoring" role="img" aria-label="alerts per analysis" '
        f'width="{60 + len(analyses) * 46}" height="156"><text x="0" y="12" font-size="11">'
        f"alerts</text>{''.join(parts)}</svg>"
    )


INTENDED_USE = (
    "Predicts whether a person's income exceeds $50K a year from 14 census attributes, "
    "trained on the UCI Adult data (the 1994 US census). It is a demonstration of a secure "
    "ML platform: for showing how a model is trained, judged, deployed, monitored and "
    "explained, not for decisions about people."
)
LIMITS = [
    "The data is from 1994 and the United States: incomes, occupations and the $50K "
    "threshold do not carry over to today or elsewhere.",
    "Sex and race are inputs; the Slices section shows accuracy gaps between groups, which "
    "largely follow the groups' base rates (docs/model.md). Judging a person by this model "
    "would repeat the data's inequalities.",
    "Values outside the schema's plausible ranges are refused; unseen categories are refused "
    "(or treated as missing when the server is told to).",
    "Skew and drift are watched on live traffic (mlops monitor); a window below the minimum "
    "is not judged.",
]


def dashboard_html(o: dict[str, Any]) -> str:
    """`/`: the endpoint, the runs, the pipeline's last run and monitoring over time."""
    versions = table(
        ["version", "traffic", "aliases", "trainer", "run", "commit", "ROC AUC", "model card"],
        [
            [
                f"v{_e(v['version'])}",
                f"{v['traffic']}%",
                _e(", ".join(v["aliases"])),
                _e(v.get("trainer")),
                _e(v.get("short_id")),
                _e(str(v.get("commit") or "")[:12]),
                _f(v.get("roc_auc")),
                f'<a href="/versions/{_e(v["version"])}">v{_e(v["version"])}</a>',
            ]
            for v in o["versions"]
        ],
    )
    runs = table(
        ["run", "started (UTC)", "outcome", "accuracy", "ROC AUC", "version", "report"],
        [
            [
                _e(r["short_id"]),
                _e(r["started"][:16].replace("T", " ")),
                _e(r["outcome"]) + (f"<br><small>{_e(r['error'])}</small>" if r["error"] else ""),
                _f(r["accuracy"]),
                _f(r["roc_auc"]),
                _e(r["version"] or ""),
                f'<a href="/reports/{_e(r["report"])}">evaluation</a>' if r.get("report") else "",
            ]
            for r in o["runs"]
        ],
        ["failed" if r["status"] == "failed" else "" for r in o["runs"]],
    )
    dag = o["dag"]
    analyses = o["monitoring"]
    monitoring = table(
        ["window end (UTC)", "rows", "previous", "drift judged", "alerts", "report"],
        [
            [
                _e(a["window_end"][:16].replace("T", " ")),
                f"{a['rows']:,}",
                f"{a['previous_rows']:,}",
                "yes" if a["drift_judged"] else "no",
                _e(", ".join(a["alerts"]) or "none"),
                f'<a href="/reports/{_e(a["report"])}">report</a>' if a.get("report") else "",
            ]
            for a in reversed(analyses)
        ],
    )
    body = (
        f"<h1>census-income on the local {_e(o['env'])} endpoint</h1>"
        f'<p class="muted">Served here: <a href="/app/">the on-device app</a>, '
        f"<code>POST /predict</code>. Runs from the workspace {_e(o['workspace'])}.</p>"
        f"<h2>Versions and traffic</h2>{traffic_svg(o['traffic'])}{versions}"
        f"<h2>The pipeline's last run</h2>"
        f'<p class="muted">{_e(dag["about"])}</p>'
        f"{dag_svg(dag['nodes'], dag['edges'], dag['status'])}"
        f"<h2>Recent runs</h2>{runs if o['runs'] else '<p>no runs recorded yet</p>'}"
        f"<h2>Monitoring over time</h2>{monitoring_svg(analyses)}"
        f"{monitoring if analyses else ''}"
    )
    return page(f"census-income, local {o['env']}", body)


def card_html(c: dict[str, Any]) -> str:
    """`/versions/V`: a model card: lineage, data, metrics, slices, use and limits, parity."""
    chain = c["lineage"]
    data = table(
        ["split", "location", "rows", "quarantined", "checksum"],
        [
            [
                _e(split),
                _e(d.get("uri")),
                f"{d.get('rows', 0):,}",
                _e(d.get("quarantined")),
                _e(str(d.get("checksum", ""))[:23]),
            ]
            for split, d in chain.get("data", {}).items()
        ],
    )
    metrics = chain.get("metrics") or {}
    metric_rows = table(
        ["metric", "official test split"], [[_e(k), _f(v)] for k, v in metrics.items()]
    )
    parity = c.get("parity")
    if parity is None:
        on_device = '<p class="muted">no on-device model recorded for this version</p>'
    elif not parity.get("applicable", True):
        on_device = f"<p>not applicable: {_e(parity.get('reason'))}</p>"
    else:
        verdict = "passed" if parity.get("passed") else "FAILED"
        on_device = (
            f'<p id="parity">{verdict}: {_e(parity.get("reason"))} '
            f'(ONNX, {_e(parity.get("bytes"))} bytes; on the <a href="/app/">on-device app</a>'
            f" when this version serves the most traffic)</p>"
        )
    decision = chain.get("decision") or {}
    alerts = chain.get("alerts", [])
    body = (
        f'<p><a href="/">&larr; dashboard</a></p>'
        f"<h1>Model card: census-income v{_e(c['version'])}</h1>"
        f"<p>{_e(', '.join(c['aliases']) or 'no alias')}; {c['traffic']}% of traffic; trainer "
        f"{_e(chain.get('trainer') or 'not recorded')}</p>"
        f"<h2>Lineage</h2>{lineage_svg(chain, c.get('short_id'))}"
        f'<p class="muted">run {_e(chain.get("run"))}</p>'
        f'<p class="muted">decision: {_e(decision.get("outcome"))}: '
        f"{_e(decision.get('reason'))}</p>"
        f"<h2>Intended use</h2><p>{escape(INTENDED_USE)}</p>"
        f"<h2>Data</h2>{data}"
        f"<h2>Metrics</h2>{metric_rows}"
        f"<h2>Slices</h2><p>Largest accuracy gap between groups in each slice (bar: "
        f"<code>bars.max_slice_gap</code>):</p>"
        f"{bars_svg(c.get('slices', {}), c.get('max_slice_gap'), 'slices', 'slice gaps')}"
        f"<h2>Limits</h2><ul>{''.join(f'<li>{escape(x)}</li>' for x in LIMITS)}</ul>"
        f"<h2>On-device parity</h2>{on_device}"
        f"<h2>Monitoring alerts since deployed</h2>"
        + (
            table(
                ["analysed (UTC)", "feature", "measure", "distance", "threshold"],
                [
                    [
                        _e(a["analysed_at"]),
                        _e(a["feature"]),
                        _e(a["measure"]),
                        _f(a["distance"]),
                        _e(a["threshold"]),
                    ]
                    for a in alerts
                ],
            )
            if alerts
            else "<p>none</p>"
        )
    )
    return page(f"census-income v{c['version']}", body)
