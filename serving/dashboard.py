"""The local dashboard at `/` of `mlops serve` (docs/serving.md, "The dashboard"): what
is deployed and how traffic is split, the recent runs (failed ones too) with their reports,
the pipeline's last run as a picture, monitoring over time, and a model card per version.

Gathers plain dicts from the ports (`Sources`, built by `mlops serve`) and the reports
folder; serving/pages.py renders them. Read only: nothing here changes state.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from kernel.workspace import evaluation_report
from promotion.domain import runs
from promotion.ports import AlertLog, Endpoint, Registry, RunLog, Storage
from serving import pages

REPORT_NAME = re.compile(r"(evaluation|monitor)-[\w.-]+\.html")
MONITOR_SHOWN = 30  # analyses in the monitoring picture
RUNS_SHOWN = 15


@dataclass(frozen=True)
class Sources:
    env: str
    workspace: Path
    reports: Path  # the workspace's evaluation reports
    monitor_reports: Path  # the prod tenant's monitoring reports
    endpoint: Endpoint
    registry: Registry
    run_log: RunLog  # staging's: every run's step records
    storage: Storage  # reads a candidate's on-device parity
    alerts: AlertLog
    running: Callable[[], bool]  # a run holds the workspace's lock


def analyses(folder: Path) -> list[dict[str, Any]]:
    """The monitor's summaries (monitor-*.json), oldest first; a damaged one is skipped."""
    found = []
    for path in sorted(folder.glob("monitor-*.json"))[-MONITOR_SHOWN:]:
        try:
            data = json.loads(path.read_text())
            results = data["results"]
        except (OSError, ValueError, KeyError):
            continue
        report = path.with_suffix(".html")
        found.append(
            {
                "window_end": data["window_end"],
                "rows": data.get("rows", 0),
                "previous_rows": data.get("previous_rows", 0),
                "drift_judged": data.get("drift_judged", bool(data.get("previous_rows"))),
                "alerts": [f"{r['feature']} ({r['measure']})" for r in results if r["alert"]],
                "report": report.name if report.is_file() else None,
            }
        )
    return sorted(found, key=lambda a: a["window_end"])


def overview(s: Sources) -> dict[str, Any]:
    recorded = runs.merge(s.run_log.records())
    rows = runs.summary_rows(recorded, s.running())
    for row in rows:
        name = evaluation_report(row["run_id"])
        row["report"] = name if (s.reports / name).is_file() else None
    short = {row["run_id"]: row["short_id"] for row in rows}
    traffic = s.endpoint.state().traffic
    versions = []
    for v in sorted(s.registry.versions(), key=lambda v: int(v.version), reverse=True):
        run = runs.run_of(v.version, v.labels, recorded)
        metrics = runs.chosen_facts(run).get("metrics", {}) if run else {}
        versions.append(
            {
                "version": v.version,
                "traffic": traffic.get(v.version, 0),
                "aliases": sorted(v.aliases),
                "trainer": v.labels.get("trainer"),
                "commit": v.labels.get("commit"),
                "short_id": short.get(run.run_id) if run else v.labels.get("run"),
                "roc_auc": metrics.get("roc_auc"),
            }
        )
    last = recorded[0] if recorded else None
    return {
        "env": s.env,
        "workspace": str(s.workspace),
        "traffic": traffic,
        "versions": versions,
        "runs": rows[:RUNS_SHOWN],
        "dag": {
            "nodes": list(runs.STEP_ORDER[:-1]),
            "edges": list(runs.STEP_EDGES),
            "status": runs.step_status(last, rows[0]["status"] == "running") if last else {},
            "about": f"run {short[last.run_id]} ({last.outcome})" if last else "no run yet",
        },
        "monitoring": analyses(s.monitor_reports),
    }


def card(s: Sources, version: str) -> dict[str, Any] | None:
    found = next((v for v in s.registry.versions() if v.version == version), None)
    if found is None:
        return None
    recorded = runs.merge(s.run_log.records())
    run = runs.run_of(version, found.labels, recorded)
    since = run.started if run else None
    alerts = [a for a in s.alerts.alerts(since) if version in a["traffic"]] if since else []
    traffic = s.endpoint.state().traffic
    chain = runs.lineage(version, found.labels, run, traffic, alerts)
    chosen = runs.chosen_facts(run) if run else {}
    return {
        "version": version,
        "aliases": sorted(found.aliases),
        "traffic": traffic.get(version, 0),
        "short_id": runs.short_ids(recorded).get(run.run_id) if run else None,
        "lineage": chain,
        "slices": chosen.get("slices", {}),
        "max_slice_gap": (run.get("decide", "bars") or {}).get("max_slice_gap") if run else None,
        "parity": parity(s.storage, run),
    }


def parity(storage: Storage, run: runs.Run | None) -> dict[str, Any] | None:
    """The on-device parity decide staged with the candidate this version came from."""
    candidate = run.get("decide", "candidate_uri") if run else None
    if not candidate:
        return None
    try:
        return dict(json.loads(storage.read_text(f"{candidate.rstrip('/')}/on_device.json")))
    except (OSError, ValueError, LookupError):
        return None


def unavailable(what: str, exc: Exception) -> Response:
    """A store that cannot be read now (a run writing the warehouse holds its lock): one
    line saying so, never a 500; the endpoint keeps serving."""
    line = f"{what} cannot be read right now: {type(exc).__name__}: {str(exc)[:300]}"
    body = f"<h1>census-income</h1><p>{pages.escape(line)}; reload in a moment.</p>"
    return HTMLResponse(pages.page("census-income", body), status_code=503)


def add_dashboard(app: FastAPI, sources: Sources) -> None:
    @app.get("/", include_in_schema=False)
    def dashboard() -> Response:
        try:
            found = overview(sources)
        except Exception as exc:  # any store's failure: say which, stay up
            return unavailable("the runs or the registry", exc)
        return HTMLResponse(pages.dashboard_html(found))

    @app.get("/versions/{version}", include_in_schema=False)
    def model_card(version: str) -> Response:
        try:
            found = card(sources, version)
        except Exception as exc:  # the same
            return unavailable(f"version {version}'s records", exc)
        if found is None:
            return JSONResponse({"error": f"no version {version!r}"}, status_code=404)
        return HTMLResponse(pages.card_html(found))

    @app.get("/reports/{name}", include_in_schema=False)
    def report(name: str) -> Response:
        folder = sources.reports if name.startswith("evaluation-") else sources.monitor_reports
        path = folder / name
        if not REPORT_NAME.fullmatch(name) or not path.is_file():
            return JSONResponse({"error": f"no report {name!r}"}, status_code=404)
        return FileResponse(path, media_type="text/html")
