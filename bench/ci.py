"""The CI events of docs/cicd.md played in one simulated cloud (`mlops simulate ci`'s
scenes), in turn: per event, the builds it started and their status, steps run for real vs
stood in for, calls, permissions checked and denials per build, and wall time."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from figures import record

APPROVER = 'approvers = ["user:release-approver@example.com"]'


def main() -> None:
    from settings import REPO_ROOT
    from simulation.ci.events import Event
    from simulation.ci.scenes import CiCloud, calls_of

    settings = (REPO_ROOT / "envs/prod/settings.toml").read_text()
    added = settings.replace("[cloudbuild]\n", f"[cloudbuild]\n{APPROVER}\n")
    approver = {"envs/prod/settings.toml": added}
    events = {
        "pr_collaborator": (Event("pull_request", "main", ("infra/stack.py",)), None),
        "pr_outside": (Event("pull_request", "main", ("infra/stack.py",), "outside"), None),
        "push_staging_kernel": (Event("push", "staging", ("kernel/errors.py",)), None),
        "push_staging_docs": (Event("push", "staging", ("docs/cicd.md",)), None),
        "push_main_approver": (Event("push", "main", tuple(approver)), approver),
        "run_canary": (Event("run", trigger="census-canary"), None),
    }
    figures: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as folder, CiCloud(Path(folder), log=lambda _: None) as ci:
        for name, (event, contents) in events.items():
            start = time.perf_counter()
            played = ci.play(event, contents=contents)
            wall = round(time.perf_counter() - start, 1)
            builds = []
            for b in played.builds:
                entries = [e for s in b.steps for e in calls_of(ci.sim, s)]
                builds.append({
                    "trigger": f"{b.project}/{b.trigger}", "identity": b.service_account,
                    "status": b.status,
                    "steps_run": sum(1 for s in b.steps if s["status"] != "STOOD_IN"),
                    "steps_stood_in": sum(1 for s in b.steps if s["status"] == "STOOD_IN"),
                    "calls": len(entries),
                    "permissions": len({c.permission for e in entries for c in e.checks}),
                    "denied": sum(1 for e in entries for c in e.checks if not c.allowed),
                })  # fmt: skip
            figures[name] = {"wall_s": wall, "builds": builds}
            print(f"{name}: {len(builds)} build(s) in {wall} s")
            for b in builds:
                print(f"  {b['trigger']} as {b['identity'].split('@')[0]}: {b['status']}; "
                      f"steps {b['steps_run']} run, {b['steps_stood_in']} stood in; "
                      f"{b['calls']} calls, {b['permissions']} permissions, "
                      f"{b['denied']} denied")  # fmt: skip
    print(json.dumps(figures))
    flat: dict[str, float | int | str] = {"events": len(figures)}
    for name, played in figures.items():
        builds = played["builds"]
        flat[f"{name}_wall_s"] = played["wall_s"]
        flat[f"{name}_builds"] = len(builds)
        flat[f"{name}_calls"] = sum(b["calls"] for b in builds)
        flat[f"{name}_denied"] = sum(b["denied"] for b in builds)
        flat[f"{name}_steps_run"] = sum(b["steps_run"] for b in builds)
        flat[f"{name}_steps_stood_in"] = sum(b["steps_stood_in"] for b in builds)
    record("ci", flat)


if __name__ == "__main__":
    main()
