"""`python -m simulation.automl_server`: Vertex AutoML Tabular's prediction container, simulated.

It serves an exported AutoML tabular model folder (the simulated export: the stand-in's model
and environment.json) under Vertex's container contract (AIP_HTTP_PORT, AIP_HEALTH_ROUTE,
AIP_PREDICT_ROUTE, AIP_STORAGE_URI) and AutoML tabular's online format: `{"instances":
[{column: "value as a string", ...}]}` answered with `{"predictions": [{"classes": [...],
"scores": [...]}], "deployedModelId": ...}`; a malformed instance is a 400 naming it.
What it does not model: Google's own server (TensorFlow Serving behind it), explanations,
and its latency.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulation.apis.vertex import tabular


def create_app(folder: Path, deployed_id: str, health: str, predict: str) -> Starlette:
    from trainer import automl, loader, schema
    from trainer.model import CensusModel

    model = CensusModel.load(folder)
    columns = {f.name: "categorical" if f.is_categorical else "numeric" for f in schema.FEATURES}
    classes = list(schema.CLASSES)
    if model.metadata.get("trainer") != automl.VERTEX_AUTOML_SIMULATED:
        raise SystemExit(f"automl_server: {folder} is not an AutoML tabular export")

    async def healthy(_: Request) -> JSONResponse:
        return JSONResponse({})

    async def answer(request: Request) -> JSONResponse:
        import pandas as pd

        try:
            body = json.loads(await request.body())
            instances = body["instances"]
            if not isinstance(instances, list) or not instances:
                raise ValueError("instances must be a non-empty list")
            rows = [tabular.online_row(one, columns, i) for i, one in enumerate(instances)]
        except (ValueError, KeyError, TypeError) as exc:
            message = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
            return JSONResponse({"error": {"code": 400, "message": message}}, status_code=400)
        frame = pd.DataFrame(rows, columns=list(columns)).assign(**{schema.LABEL: None})
        scores = model.predict_proba(loader.to_frame(frame))
        predictions = [tabular.classes_and_scores(classes, float(p)) for p in scores]
        return JSONResponse({"predictions": predictions, "deployedModelId": deployed_id})

    routes = [Route(health, healthy, methods=["GET"]), Route(predict, answer, methods=["POST"])]
    return Starlette(routes=routes)


def main() -> int:
    storage = os.environ.get("AIP_STORAGE_URI", "")
    if not storage or not (Path(storage) / "environment.json").exists():
        print(f"automl_server: no exported AutoML model at {storage!r}", file=sys.stderr)
        return 2
    app = create_app(
        Path(storage),
        os.environ.get("AIP_DEPLOYED_MODEL_ID", "unknown"),
        os.environ.get("AIP_HEALTH_ROUTE", "/health"),
        os.environ.get("AIP_PREDICT_ROUTE", "/predict"),
    )
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["AIP_HTTP_PORT"]), log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
