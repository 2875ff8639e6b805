"""The on-device model: the trained trees as ONNX, for browsers and devices that predict
without the endpoint (docs/ondevice.md).

onnxmltools converts the LightGBM booster (categorical splits included) to an ONNX tree
ensemble over the same 14-column matrix the server builds (categories as integer codes,
missing as NaN). A conversion counts only if ONNX Runtime's predictions equal LightGBM's
within TOLERANCE on the official test split plus rows that reach every category code and a
missing value in every feature; otherwise the version is not deployed, and the decision says
why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from kernel.atomic import write_bytes
from trainer import schema

ONNX_FILE = "model.onnx"
INPUT = "features"
TOLERANCE = 1e-5


@dataclass(frozen=True)
class Parity:
    passed: bool
    reason: str
    largest_difference: float | None
    rows: int
    bytes: int
    tolerance: float = TOLERANCE

    def as_dict(self) -> dict:
        return asdict(self)


def convert(booster) -> bytes:
    """The booster as an ONNX model: input `features` float32 [N, 14], outputs `label` and
    `probabilities` [N, 2] (no ZipMap: a plain tensor every runtime reads)."""
    from onnxmltools import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType

    model = convert_lightgbm(
        booster,
        name="census-income",
        initial_types=[(INPUT, FloatTensorType([None, len(schema.FEATURES)]))],
        zipmap=False,
    )
    for output in model.graph.output:  # the converter declares `label` as [1]: it is [N]
        dims = output.type.tensor_type.shape.dim
        if dims:
            dims[0].ClearField("dim_value")
            dims[0].dim_param = "N"
    model.doc_string = "census-income on-device model; input: trainer.schema feature codes"
    return model.SerializeToString()


def predict(onnx_model: bytes, matrix: np.ndarray) -> np.ndarray:
    """P(>50K) from ONNX Runtime, as a device computes it (float32 input)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(onnx_model, options, providers=["CPUExecutionProvider"])
    (_, probabilities) = session.run(None, {INPUT: matrix.astype(np.float32)})
    return probabilities[:, 1]


def verify(
    onnx_model: bytes, reference: Callable[[np.ndarray], np.ndarray], rows: np.ndarray
) -> Parity:
    ours, theirs = predict(onnx_model, rows), reference(rows)
    largest = float(np.max(np.abs(ours - theirs)))
    passed = bool(largest <= TOLERANCE)
    verdict = "within" if passed else "more than"
    reason = (
        f"ONNX predictions differ from LightGBM's by at most {largest:.2g} on {len(rows):,} rows "
        f"(official test split, every category code, a missing value per feature): {verdict} "
        f"{TOLERANCE:g}"
    )
    return Parity(passed, reason, largest, len(rows), len(onnx_model))


def export(booster, reference: Callable, rows: np.ndarray, folder: Path) -> Parity:
    """Convert, verify, and write `folder/model.onnx` (also when it fails: the evidence)."""
    try:
        onnx_model = convert(booster)
    except Exception as exc:  # a converter that cannot express the model: not deployable
        return Parity(False, f"ONNX conversion failed: {type(exc).__name__}: {exc}", None, 0, 0)
    write_bytes(folder / ONNX_FILE, onnx_model)
    return verify(onnx_model, reference, rows)
