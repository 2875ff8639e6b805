"""The on-device model: ONNX from the trained trees, held to LightGBM within 1e-5."""

import numpy as np
from serving_fixtures import small_model

from trainer import compiled, features, loader, ondevice


def rows() -> np.ndarray:
    return compiled.verification_matrix(features.encode(loader.load_census(split="test").frame))


def test_the_onnx_model_predicts_what_lightgbm_predicts_on_every_code_and_missing(tmp_path):
    model = small_model()
    parity = ondevice.export(model.booster, model.predict_lightgbm, rows(), tmp_path)
    assert parity.passed, parity.reason
    assert parity.largest_difference < 1e-6 and parity.rows == 16_281 + 113
    assert "within 1e-05" in parity.reason
    onnx = (tmp_path / ondevice.ONNX_FILE).read_bytes()
    assert parity.bytes == len(onnx)
    # categories, NaN (missing) and unseen codes go through the same tensor as the server's
    matrix = rows()[-120:]
    np.testing.assert_allclose(
        ondevice.predict(onnx, matrix), model.predict_lightgbm(matrix), atol=1e-6
    )


def test_a_model_that_disagrees_or_cannot_be_converted_is_refused_with_the_reason(tmp_path):
    model = small_model()
    off = ondevice.export(
        model.booster, lambda m: model.predict_lightgbm(m) + 2e-5, rows(), tmp_path
    )
    assert not off.passed and "more than 1e-05" in off.reason
    assert off.largest_difference > 1e-5
    broken = ondevice.export(object(), model.predict_lightgbm, rows(), tmp_path / "b")
    assert not broken.passed and broken.reason.startswith("ONNX conversion failed: ")
    assert broken.largest_difference is None and not (tmp_path / "b").exists()
