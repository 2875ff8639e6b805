"""Wall time and peak memory (python and node together) of synthesizing all three envs.

Compares `mlops synth --env all` (one process, google provider modules loaded one at a time,
google-beta through thin wrappers) with the naive way: each env in its own process importing
both prebuilt provider packages whole, as a plain CDKTF app does.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from figures import record
from proctree import run_measured

REPEATS = 5
# Eager imports of both prebuilt providers, as a plain CDKTF app does.
NAIVE = """
import sys, pathlib
import cdktf_cdktf_provider_google, cdktf_cdktf_provider_google_beta  # eager: every module
from infra.synth import synth
synth((sys.argv[1],), out_root=pathlib.Path(sys.argv[2]))
"""


def measure(label: str, commands: list[list[str]]) -> tuple[float, int]:
    walls, peaks = [], []
    for _ in range(REPEATS):
        wall = peak = 0.0
        for command in commands:
            w, p, result = run_measured(command)
            if result.returncode:
                sys.exit(f"{label}: {' '.join(command)} failed:\n{result.stderr.decode()}")
            wall, peak = wall + w, max(peak, p)
        walls.append(wall)
        peaks.append(peak)
    print(
        f"{label:<34} wall median {statistics.median(walls):5.2f} s "
        f"(min {min(walls):.2f}, max {max(walls):.2f})   "
        f"peak memory median {statistics.median(peaks):6.0f} MiB"
    )
    return round(statistics.median(walls), 1), round(statistics.median(peaks))


def main() -> None:
    py = sys.executable
    with tempfile.TemporaryDirectory() as out:
        naive = Path(out) / "naive.py"
        naive.write_text(NAIVE)
        print(f"synthesizing dev, staging, prod; {REPEATS} runs each")
        wall, peak = measure(
            "mlops synth --env all", [[py, "-m", "mlops.cli", "synth", "--env", "all"]]
        )
        naive_wall, naive_peak = measure(
            "naive: one process per env",
            [[py, str(naive), env, out] for env in ("dev", "staging", "prod")],
        )
    record(
        "synth",
        {
            "wall_s": wall,
            "peak_mib": peak,
            "naive_wall_s": naive_wall,
            "naive_peak_mib": naive_peak,
        },
    )
    print("target: all three envs under 6 s and under 1 GB")


if __name__ == "__main__":
    main()
