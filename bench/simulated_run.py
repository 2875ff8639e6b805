"""The Vertex target end to end against the simulated cloud: wall time and what it called.

Prints the median wall time of REPEATS runs (each a fresh simulation: synth, seed, compile,
submit as the staging build identity, the whole pipeline), the number of requests, how many
were IAM-checked, and the distinct API methods simulated.
"""

import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from figures import record

from simulation import run as simulated

REPEATS = 3


def main() -> None:
    walls, last = [], None
    for _ in range(REPEATS):
        with tempfile.TemporaryDirectory() as root:
            last = simulated.run(Path(root), log=lambda _line: None)
            if last.state != "PIPELINE_STATE_SUCCEEDED":
                sys.exit(f"simulated run ended {last.state}:\n{last.submit_output[-2000:]}")
            walls.append(last.wall_seconds)
    methods = {e.method for e in last.wire if not e.method.startswith("metadata.")}
    figures = {
        "wall_s": round(statistics.median(walls), 1),
        "wall_min_s": round(min(walls), 1),
        "wall_max_s": round(max(walls), 1),
        "requests": len(last.wire),
        "checked": last.checked,
        "methods": len(methods),
    }
    print(
        f"simulated Vertex run, {REPEATS} runs: wall median {figures['wall_s']} s "
        f"(min {figures['wall_min_s']}, max {figures['wall_max_s']}); target < 20 s"
    )
    print(
        f"one run: {figures['requests']} requests, {figures['checked']} IAM-checked, "
        f"{figures['methods']} distinct API methods"
    )
    record("simulated_run", figures)


if __name__ == "__main__":
    main()
