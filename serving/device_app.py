"""The on-device web app, beside the prediction route of `mlops serve` (docs/ondevice.md).

/app/ serves a page that predicts in the browser with onnxruntime-web (pinned in
package.json, served from node_modules, no CDN) and the serving version's ONNX model, so
once loaded it needs no server. What the page needs to build the model's input (feature
order, categories, threshold) comes from the schema, in /app/model.json.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse, Response

from trainer import schema
from trainer.ondevice import INPUT

PAGE_DIR = Path(__file__).with_name("device_app")
# The wasm build of ONNX Runtime Web and the files it loads: nothing else leaves node_modules.
ORT_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")


@dataclass(frozen=True)
class DeviceModel:
    version: str
    onnx_path: Path
    threshold: float


def model_meta(model: DeviceModel) -> dict:
    """What the page builds its form and the model's input from."""
    features = []
    for f in schema.FEATURES:
        entry: dict = {"name": f.name}
        if f.is_categorical:
            entry["categories"] = list(f.categories)
        elif f.plausible:
            entry["range"] = list(f.plausible)
        features.append(entry)
    return {
        "version": model.version,
        "input": INPUT,
        "features": features,
        "threshold": model.threshold,
        "classes": list(schema.CLASSES),
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

    @app.get("/app/app.js", include_in_schema=False)
    def script() -> Response:
        return FileResponse(PAGE_DIR / "app.js", media_type="text/javascript")

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
            threshold = CensusModel.load(folder).threshold
            fetched[version] = DeviceModel(version, folder / ONNX_FILE, threshold)
        return fetched[version]

    return current
