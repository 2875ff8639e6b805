"""The local prod tenant's services in a test workspace, opened as the CLI opens them."""

import json
from pathlib import Path

from adapters import wiring
from settings import load_platform, tenants_for

PLATFORM = load_platform()
TENANTS = tenants_for(PLATFORM, "staging", local=True)
PROD_PROJECT = TENANTS.prod_project


def open_local_prod(workspace) -> wiring.Prod:
    return wiring.open_prod("local", str(workspace), TENANTS)


ROLLOUT = PLATFORM["prod"].serving.rollout


def evaluation_json(model: Path, frame) -> str:
    """metrics.json as the evaluate step writes it: `model` scored on `frame`."""
    from trainer import features
    from trainer.evaluate import evaluate
    from trainer.model import CensusModel

    p = CensusModel.load(model).predict_proba(frame)
    return json.dumps(evaluate(frame, features.labels(frame), p))
