"""Running the deploy step on the Vertex target against a simulation, as the staging
pipeline identity impersonating the prod deployer, with real prediction servers."""

import json
import os
import subprocess
import sys
from pathlib import Path

from serving_fixtures import save_small_model

from promotion.steps import staging as steps
from trainer import features, loader
from trainer.evaluate import evaluate
from trainer.model import CensusModel

PIPELINE = "census-pipeline@census-ml-staging.iam.gserviceaccount.com"
SERVING = "census-serving@census-ml-prod.iam.gserviceaccount.com"
DEPLOYER = "census-deployer@census-ml-prod.iam.gserviceaccount.com"
REPO = "europe-west4-docker.pkg.dev/census-ml-staging/census-images"
# what the build hands over: serving images pinned by digest (prod refuses tags)
IMAGE = f"{REPO}/serving@sha256:{'a' * 64}"
GARBAGE = f"{REPO}/serving@sha256:{'b' * 64}"  # a server answering nonsense
STEP = Path(__file__).parent / "simulation" / "vertex_step.py"
PROD_VERTEX_KEY = (
    "projects/census-ml-prod/locations/europe-west4/keyRings/census-ml/cryptoKeys/vertex"
)


def stage_candidate(sim, run_id: str) -> str:
    """What decide leaves in the staging models bucket for the deployer (once per run: a
    deploy run again finds the candidate as it was)."""
    folder = sim.root / "storage/census-ml-staging-models/census-income/candidates" / run_id
    uri = f"gs://census-ml-staging-models/census-income/candidates/{run_id}"
    if folder.exists():
        return uri
    folder.mkdir(parents=True)
    save_small_model(folder / "model")
    test = loader.load_census(split="test")
    loader.to_csv(test.frame.head(50), folder / "train.csv")
    p = CensusModel.load(folder / "model").predict_proba(test.frame)
    evaluation = evaluate(test.frame, features.labels(test.frame), p)
    (folder / "metrics.json").write_text(json.dumps(evaluation))
    (folder / "baseline.json").write_text("{}")
    (folder / "smoke.json").write_text(json.dumps(steps.smoke_instances(folder / "train.csv")))
    # as decide records it: the champion prod had when the candidate was compared
    model = registered(sim)
    champion = (model or {}).get("aliases", {}).get("champion")
    decision = {"champion": {"version": champion} if champion else None}
    (folder / "decision.json").write_text(json.dumps(decision))
    return uri


def deploy(sim, run_id: str, image: str = IMAGE, *canary: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **sim.environ(PIPELINE)}
    return subprocess.run(
        [sys.executable, str(STEP), "deploy", stage_candidate(sim, run_id), run_id, image, *canary],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def result_of(done: subprocess.CompletedProcess) -> dict:
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def endpoint(sim) -> dict:
    return next(iter(sim.vertex.endpoints.values()))


def registered(sim) -> dict:
    return sim.vertex.models.get(
        "projects/census-ml-prod/locations/europe-west4/models/census-income"
    )


FLAKY = f"{REPO}/serving@sha256:{'c' * 64}"  # a server failing a third of its requests


def serve_traffic(sim, requests: int) -> None:
    """Clients calling the prod endpoint, as Vertex would count them."""
    import httpx

    name = next(iter(sim.vertex.endpoints))
    token = sim.tokens.issue(DEPLOYER)  # a caller allowed to predict (censusDeployer)
    rows = sim.root / "test.csv"
    if not rows.exists():
        loader.to_csv(loader.load_census(split="test").frame.head(50), rows)
    instances = steps.smoke_instances(rows)
    with httpx.Client(headers={"authorization": f"Bearer {token}"}) as client:
        for i in range(requests):
            client.post(
                f"{sim.url}/aiplatform/v1/{name}:predict",
                json={"instances": [instances[i % len(instances)]]},
            )
