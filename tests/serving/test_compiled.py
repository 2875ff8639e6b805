"""Compiled trees: built, verified against LightGBM, used; a failure falls back, and says so."""

import sys
import time

import httpx
import numpy as np
import pytest
import server_process
from serving_fixtures import sample_instances

from trainer import compiled, features
from trainer.hyperparameters import Hyperparameters
from trainer.model import CensusModel, train


@pytest.fixture(scope="module")
def small_model(census_train) -> CensusModel:
    """100 trees: the real compile path in about a second (bench/serving.py: the real model)."""
    params = Hyperparameters().model_copy(update={"num_boost_round": 100})
    return train(census_train.frame, params, data_sha256=census_train.sha256)


@pytest.fixture
def compiling(monkeypatch, tmp_path):
    monkeypatch.setenv(compiled.SWITCH_ENV, "on")
    monkeypatch.setenv(compiled.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.slow
def test_compiled_trees_equal_lightgbm_and_answer(small_model, census_test, compiling):
    engine = small_model.compile()
    assert engine.done.wait(120), "compile did not finish"
    assert engine.state == "compiled", engine.reason
    assert engine.largest_difference is not None and engine.largest_difference <= 1e-9
    matrix = features.encode(census_test.frame)
    rows = compiled.verification_matrix(matrix)
    assert len(rows) > len(matrix) and np.isnan(rows[len(matrix) :]).any()
    np.testing.assert_allclose(
        small_model.predict_matrix(rows), small_model.predict_lightgbm(rows), rtol=0, atol=1e-9
    )
    assert engine.predict is not None and len(list(compiling.glob("*.o"))) == 1
    # the cached object is loaded by the next process or version with the same model
    again = CensusModel(small_model.booster, small_model.metadata).compile()
    assert again.done.wait(60) and again.state == "compiled"


@pytest.mark.slow
def test_a_difference_beyond_the_tolerance_keeps_lightgbm(small_model, census_test, compiling):
    engine = compiled.Engine()
    rows = compiled.verification_matrix(features.encode(census_test.frame.head(200)))
    shifted = lambda m: small_model.predict_lightgbm(m) + 1e-6  # noqa: E731
    compiled.build(small_model.booster.model_to_string(), shifted, rows, engine)
    assert engine.state == "fallback" and engine.predict is None
    assert "differ from LightGBM's by 1e-06" in engine.reason


def test_a_compile_failure_keeps_lightgbm_and_names_it(small_model, census_test, compiling):
    engine = compiled.Engine()
    rows = compiled.verification_matrix(features.encode(census_test.frame.head(10)))
    compiled.build("not a model", small_model.predict_lightgbm, rows, engine)
    assert engine.state == "fallback" and engine.predict is None and engine.reason


def test_switched_off(monkeypatch, small_model):
    monkeypatch.setenv(compiled.SWITCH_ENV, "off")
    engine = small_model.compile()
    assert engine.state == "off" and engine.done.is_set()
    small_model.engine = None


def test_choose_is_strict():
    assert compiled.choose(1e-9, 10)[0] and not compiled.choose(1.1e-9, 10)[0]
    assert not compiled.choose(float("nan"), 10)[0]


@pytest.mark.slow
def test_the_server_reports_its_engine_in_health_and_log(small_model, tmp_path, compiling):
    """The real server process: health names the engine once compiled; the log says so."""
    small_model.save(tmp_path / "model")
    port = server_process.free_port()
    env = {
        "AIP_HTTP_PORT": str(port),
        "AIP_STORAGE_URI": str(tmp_path / "model"),
        compiled.SWITCH_ENV: "on",
        compiled.CACHE_ENV: str(compiling),
    }
    url = f"http://127.0.0.1:{port}"
    proc = server_process.start([sys.executable, "-m", "serving"], env, f"{url}/health")
    try:
        deadline = time.monotonic() + server_process.READY_DEADLINE  # a hang, not a slow CPU
        while time.monotonic() < deadline:
            health = httpx.get(f"{url}/health", timeout=30).json()
            if health["engines"]["unknown"]["state"] != "compiling":
                break
            time.sleep(0.1)
        assert health["engines"]["unknown"]["engine"] == "compiled trees (lleaves)", health
        reply = httpx.post(f"{url}/predict", json={"instances": sample_instances()[:3]})
        assert reply.status_code == 200
    finally:
        out = server_process.stop(proc)
    assert "serving: version unknown: compiled trees in" in out
