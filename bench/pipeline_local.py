"""End-to-end wall time of `mlops run --local` from a cold start, and each step's time.

Each repeat is a new process with a new, empty workspace and an empty compile cache (so the
first run deploys and nothing is reused), then a second run on the same workspace (which
compares with the champion and keeps it). A step's fixed cost is the time of the step that
does nothing: `automl`, which marks itself skipped when trainer=custom.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from figures import record

REPEATS = 3
STEPS = re.compile(r"steps\s+: (.*)")


def run(workspace: str) -> tuple[float, dict[str, float]]:
    start = time.perf_counter()
    env = {**os.environ, "MLOPS_COMPILE_CACHE": str(Path(workspace) / "compile-cache")}
    proc = subprocess.run(
        [sys.executable, "-m", "mlops.cli", "run", "--local", "--workspace", workspace],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    wall = time.perf_counter() - start
    steps = {}
    for part in STEPS.search(proc.stdout).group(1).split(", "):
        name, seconds = part.rsplit(" ", 1)
        steps[name] = float(seconds.rstrip("s"))
    return wall, steps


def main() -> None:
    cold, warm = [], []
    per_step: dict[str, list[float]] = defaultdict(list)
    for _ in range(REPEATS):
        with tempfile.TemporaryDirectory() as workspace:
            wall, steps = run(workspace)
            cold.append(wall)
            for name, seconds in steps.items():
                per_step[name].append(seconds)
            warm.append(run(workspace)[0])
    steps = {name: round(statistics.median(times), 1) for name, times in per_step.items()}
    figures = {
        "cold_s": round(statistics.median(cold), 1),
        "cold_min_s": round(min(cold), 1),
        "cold_max_s": round(max(cold), 1),
        "second_s": round(statistics.median(warm), 1),
        **{f"{name}_s": seconds for name, seconds in steps.items()},
    }
    print(f"mlops run --local, {REPEATS} repeats, medians")
    print(
        f"  cold start, deploys     {figures['cold_s']:6.1f} s "
        f"(min {figures['cold_min_s']}, max {figures['cold_max_s']}); target < 12 s"
    )
    print(f"  second run, keeps       {figures['second_s']:6.1f} s")
    for name, seconds in steps.items():
        print(f"    {name:<10} {seconds:5.1f} s")
    print(f"  a step's fixed cost (automl, skipped): {steps['automl']} s; target < 0.3 s")
    record("pipeline_local", figures)


if __name__ == "__main__":
    main()
