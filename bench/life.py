"""`mlops simulate life`: wall time of the whole life and the API calls each identity made.

One life is ~3 minutes here, so it runs once (REPEATS); the calls per identity are exact
(the same story makes the same calls, bar the canary's smoke-test retries).
"""

import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from figures import record

from simulation import life as simulated


def short(principal: str) -> str:
    """A figure key for a principal: census-deployer@... -> deployer, service-N@gcp-sa-logging
    -> agent_logging, a person -> their name, cloudbuild (census-deploy) -> cloudbuild."""
    name, _, domain = principal.partition("@")
    if name.startswith("service-"):
        name = "agent_" + domain.split(".")[0].removeprefix("gcp-sa-")
    return re.sub(r"[^a-z0-9]+", "_", name.removeprefix("census-").split(" ")[0].lower())


def main() -> None:
    with tempfile.TemporaryDirectory() as root:
        life = simulated.live(Path(root), log=lambda _line: None, say=lambda _text: None)
    failed = [c.title for c in life.chapters if c.run and c.run.state != "PIPELINE_STATE_SUCCEEDED"]
    if failed:
        sys.exit(f"runs did not succeed: {failed}")
    figures = {
        "wall_s": round(life.wall_seconds, 1),
        "chapters": len(life.chapters),
        "runs": sum(1 for c in life.chapters if c.run),
        "client_predictions": life.client_calls,
        **{f"calls_{short(who)}": n for who, n in life.calls.items()},
    }
    print(f"simulated life: {figures['runs']} runs, {figures['chapters']} chapters in "
          f"{figures['wall_s']} s")  # fmt: skip
    for who, n in life.calls.most_common():
        print(f"  {n:>6,}  {who}")
    print(f"  {life.client_calls:>6,}  clients' predictions")
    record("life", figures)


if __name__ == "__main__":
    main()
