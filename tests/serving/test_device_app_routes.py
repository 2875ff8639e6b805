"""The on-device app's routes: the page, the pinned runtime, the model and its schema."""

from fastapi import FastAPI
from fastapi.testclient import TestClient

from serving.device_app import ORT_FILES, DeviceModel, add_device_app, model_meta
from trainer import schema


def client(current, ort_dir) -> TestClient:
    app = FastAPI()
    add_device_app(app, current, ort_dir)
    return TestClient(app)


def test_the_page_the_runtime_and_the_model(tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"onnx")
    (tmp_path / ORT_FILES[0]).write_text("var ort;")
    model = DeviceModel("4", tmp_path / "model.onnx", 0.5)
    c = client(lambda: model, tmp_path)
    assert "onnxruntime-web" in c.get("/app/").text
    assert c.get("/app/app.js").headers["content-type"].startswith("text/javascript")
    assert c.get(f"/app/ort/{ORT_FILES[0]}").text == "var ort;"
    assert c.get("/app/ort/../../etc/passwd").status_code == 404
    assert c.get("/app/ort/evil.js").status_code == 404  # only the runtime's own files
    missing = c.get(f"/app/ort/{ORT_FILES[2]}")
    assert missing.status_code == 503 and "make install" in missing.json()["error"]
    onnx = c.get("/app/model.onnx")
    assert onnx.content == b"onnx" and onnx.headers["x-model-version"] == "4"
    meta = c.get("/app/model.json").json()
    assert meta == model_meta(model)
    assert [f["name"] for f in meta["features"]] == list(schema.FEATURE_NAMES)
    workclass = next(f for f in meta["features"] if f["name"] == "workclass")
    assert workclass["categories"] == list(schema.FEATURES[1].categories)
    age = meta["features"][0]
    assert (age["title"], age["range"], age["range_text"]) == ("Age (years)", [0, 120], "0 to 120")
    assert "typical" not in age and meta["explains"] is False  # a model without either
    assert c.get("/app/trees.json").status_code == 404
    assert c.get("/app/explain.js").headers["content-type"].startswith("text/javascript")
    assert c.get("/app/evil.js").status_code == 404  # only the page's own scripts


def test_a_trained_model_gives_its_typical_row_and_its_trees(tmp_path):
    from serving_fixtures import save_small_model

    from trainer.model import CensusModel

    trained = CensusModel.load(save_small_model(tmp_path / "m"))
    (tmp_path / "model.onnx").write_bytes(b"onnx")
    model = DeviceModel(
        "5", tmp_path / "model.onnx", 0.5, trained.metadata["typical"], trained.booster
    )
    c = client(lambda: model, tmp_path)
    meta = c.get("/app/model.json").json()
    typical = {f["name"]: f.get("typical") for f in meta["features"]}
    assert typical == trained.metadata["typical"] and meta["explains"] is True
    assert isinstance(typical["age"], int) and typical["sex"] in ("Male", "Female")
    trees = c.get("/app/trees.json")
    assert trees.headers["x-model-version"] == "5"
    assert len(trees.json()["trees"]) == trained.booster.num_trees()


def test_no_on_device_model_says_why(tmp_path):
    c = client(lambda: "version 1 has no on-device model (deployed before ONNX export)", tmp_path)
    for path in ("/app/model.json", "/app/model.onnx", "/app/trees.json"):
        reply = c.get(path)
        assert (
            reply.status_code == 503 and "version 1 has no on-device model" in reply.json()["error"]
        )
