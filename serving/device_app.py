"""The on-device web app, beside the prediction route of `mlops serve` (docs/ondevice.md).

/app/ serves a page that predicts in the browser with onnxruntime-web (pinned in
package.json, served from node_modules, no CDN) and the serving version's ONNX model, so
once loaded it needs no server. What the page needs to build the model's input (feature
order, categories, ranges, threshold) comes from the schema, in /app/model.json, with the
version's typical row (its defaults); /app/trees.json gives the version's trees, from which
the page computes each feature's contribution (serving/device_app/explain.js).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse, Response

from trainer import schema
from trainer.ondevice import INPUT

PAGE_DIR = Path(__file__).with_name("device_app")
# The wasm build of ONNX Runtime Web and the files it loads: nothing else leaves node_modules.
ORT_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
PAGE_FILES = {"app.js", "explain.js"}

# What a person reads beside each field (the schema's names are the data's column names).
TITLES = {
    "age": "Age (years)",
    "workclass": "Employer type",
    "fnlwgt": "Census weight (fnlwgt: people this row stands for)",
    "education": "Education",
    "education_num": "Years of education (level 1-16)",
    "marital_status": "Marital status",
    "occupation": "Occupation",
    "relationship": "Relationship in the household",
    "race": "Race",
    "sex": "Sex",
    "capital_gain": "Capital gains ($ a year)",
    "capital_loss": "Capital losses ($ a year)",
    "hours_per_week": "Hours worked per week",
    "native_country": "Country of birth",
}


@dataclass
class DeviceModel:
    version: str
    onnx_path: Path
    threshold: float
    typical: dict[str, Any] = field(default_factory=dict)  # the training data's typical row
    booster: Any = None  # the version's LightGBM booster: its trees explain a prediction

    @cached_property
    def trees_json(self) -> bytes:
        """The compact trees, made once per version (trainer/explain.py)."""
        from trainer import explain

        return json.dumps(explain.compact(self.booster.dump_model())).encode()


def model_meta(model: DeviceModel) -> dict:
    """What the page builds its form, the model's input and its checks from: the same
    categories and plausible ranges the server holds a request to (trainer/schema.py)."""
    features = []
    for f in schema.FEATURES:
        entry: dict = {"name": f.name, "title": TITLES.get(f.name, f.name)}
        if f.is_categorical:
            entry["categories"] = list(f.categories)
        elif f.plausible:
            entry["range"] = list(f.plausible)
            entry["range_text"] = f.plausible_text
        if model.typical.get(f.name) is not None:
            entry["typical"] = model.typical[f.name]
        features.append(entry)
    return {
        "version": model.version,
        "input": INPUT,
        "features": features,
        "threshold": model.threshold,
        "classes": list(schema.CLASSES),
        "explains": model.booster is not None,
    }


def add_device_app(app: FastAPI, current: Callable[[], DeviceModel | str], ort_dir: Path) -> None:
    """`current()`: the serving version's on-device model, or why there is none."""

    def model_or_503() -> DeviceModel | Response:
        found = current()
        if isinstance(found, str):
            return JSONResponse({"error": found}, status_code=503)
        return found

    @app.get("/app", include_in_schema=False)
    @app.get("/app/", include_in_schema=False)
    def page() -> Response:
        return FileResponse(PAGE_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/app/{name}.js", include_in_schema=False)
    def script(name: str) -> Response:
        if f"{name}.js" not in PAGE_FILES:
            return JSONResponse({"error": f"not found: {name}.js"}, status_code=404)
        return FileResponse(PAGE_DIR / f"{name}.js", media_type="text/javascript")

    @app.get("/app/ort/{name}", include_in_schema=False)
    def runtime(name: str) -> Response:
        if name not in ORT_FILES:
            return JSONResponse({"error": f"not found: {name}"}, status_code=404)
        path = ort_dir / name
        if not path.is_file():
            return JSONResponse(
                {"error": f"{path} is missing: install the npm packages (make install)"},
                status_code=503,
            )
        return FileResponse(path)

    @app.get("/app/model.json", include_in_schema=False)
    def meta() -> Response:
        found = model_or_503()
        return found if isinstance(found, Response) else JSONResponse(model_meta(found))

    @app.get("/app/trees.json", include_in_schema=False)
    def trees() -> Response:
        found = model_or_503()
        if isinstance(found, Response):
            return found
        if found.booster is None:
            return JSONResponse({"error": "no trees for this version"}, status_code=404)
        return Response(
            found.trees_json,
            media_type="application/json",
            headers={"X-Model-Version": found.version},
        )

    @app.get("/app/model.onnx", include_in_schema=False)
    def onnx() -> Response:
        found = model_or_503()
        if isinstance(found, Response):
            return found
        return FileResponse(
            found.onnx_path,
            media_type="application/octet-stream",
            headers={"X-Model-Version": found.version},
        )


def serving_device_model(endpoint, registry) -> Callable[[], DeviceModel | str]:
    """The on-device model of the version with the most traffic, found through the registry
    label deploy sets; fetched once per version."""
    from kernel.names import ON_DEVICE_LABEL
    from trainer.model import CensusModel
    from trainer.ondevice import ONNX_FILE

    fetched: dict[str, DeviceModel] = {}

    def current() -> DeviceModel | str:
        version = endpoint.state().serving
        if version is None:
            return "no model deployed"
        if version not in fetched:
            found = next((v for v in registry.versions() if v.version == version), None)
            if found is None or ON_DEVICE_LABEL not in found.labels:
                return f"version {version} has no on-device model (deployed before ONNX export)"
            folder = Path(registry.fetch(found))
            model = CensusModel.load(folder)
            fetched[version] = DeviceModel(
                version,
                folder / ONNX_FILE,
                model.threshold,
                typical=model.metadata.get("typical", {}),
                booster=model.booster,
            )
        return fetched[version]

    return current
