"""End-to-end wall time of `mlops run --local` from a cold start, and each step's time.

Each repeat is a new process with a new, empty workspace (so the first run deploys), then a
second run on the same workspace (which compares with the champion and keeps it).
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

REPEATS = 3
STEPS = re.compile(r"steps\s+: (.*)")


def run(workspace: str) -> tuple[float, dict[str, float]]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "mlops.cli", "run", "--local", "--workspace", workspace],
        capture_output=True,
        text=True,
        check=True,
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
    print(f"mlops run --local, {REPEATS} repeats, medians")
    print(
        f"  cold start, deploys     {statistics.median(cold):6.1f} s "
        f"(min {min(cold):.1f}, max {max(cold):.1f}); target < 30 s"
    )
    print(f"  second run, keeps       {statistics.median(warm):6.1f} s")
    for name, times in per_step.items():
        print(f"    {name:<10} {statistics.median(times):5.1f} s")


if __name__ == "__main__":
    main()
