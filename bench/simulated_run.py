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
    print(
        f"simulated Vertex run, {REPEATS} runs: wall median {statistics.median(walls):.1f} s "
        f"(min {min(walls):.1f}, max {max(walls):.1f}); target < 60 s on 2 cores"
    )
    print(
        f"one run: {len(last.wire)} requests, {last.checked} IAM-checked, "
        f"{len(methods)} distinct API methods"
    )


if __name__ == "__main__":
    main()
