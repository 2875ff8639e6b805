"""Wall time of `mlops simulate infra` (synth of every env, then the four scenes against the
simulated cloud), beside `mlops synth --env all` alone, run in turn so the ratio holds on a
noisy machine; also the scenes' own figures: resources applied, calls and permissions."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from figures import record
from proctree import run_measured

REPEATS = 5


def main() -> None:
    py = sys.executable
    infra = [py, "-m", "mlops.cli", "simulate", "infra"]
    synth = [py, "-m", "mlops.cli", "synth", "--env", "all"]
    walls: dict[str, list[float]] = {"infra": [], "synth": []}
    ratios = []
    for _ in range(REPEATS):
        pair = {}
        for label, command in (("infra", infra), ("synth", synth)):
            wall, _, result = run_measured(command)
            if result.returncode:
                sys.exit(f"{' '.join(command)} failed:\n{result.stderr.decode()[-2000:]}")
            walls[label].append(wall)
            pair[label] = wall
        ratios.append(pair["infra"] / pair["synth"])
    infra_s, synth_s = (round(statistics.median(walls[k]), 1) for k in ("infra", "synth"))
    ratio = round(statistics.median(ratios), 2)
    print(f"mlops simulate infra  wall median {infra_s:.1f} s "
          f"(min {min(walls['infra']):.1f}, max {max(walls['infra']):.1f})")  # fmt: skip
    print(f"mlops synth --env all wall median {synth_s:.1f} s; ratio median {ratio}")
    scenes = _scenes()
    print(json.dumps(scenes))
    record("plan_apply", {"wall_s": infra_s, "synth_wall_s": synth_s, "ratio": ratio, **scenes})


def _scenes() -> dict[str, int]:
    """The first apply's and the pull request plans' counts, from the scenes themselves."""
    from infra.synth import synth
    from settings import ENV_NAMES
    from simulation.terraform import scenes

    stacks = {p: json.loads(path.read_text()) for p, path in synth(ENV_NAMES).items()}
    first, plans = scenes.play(stacks)[:2]

    def counts(scene: scenes.Scene) -> tuple[int, int]:
        calls = sum(len(r.calls) for r in scene.runs)
        return calls, len(set().union(*(r.permissions() for r in scene.runs)))

    applied = scenes.resources_applied(first)
    return {
        "first_apply_calls": counts(first)[0],
        "first_apply_permissions": counts(first)[1],
        "plan_calls": counts(plans)[0],
        "plan_permissions": counts(plans)[1],
        **{f"applied_{part.replace('-', '_')}": n for part, n in applied.items()},
    }


if __name__ == "__main__":
    main()
