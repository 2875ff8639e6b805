"""Compiled trees: the same model, predicted by machine code lleaves generates from model.txt.

A model is compiled when it is loaded (in a background thread, so the server answers with
LightGBM meanwhile) and used only after its predictions equal LightGBM's within 1e-9 on the
verification rows: the whole official test split plus every category code and a missing
value in every feature. Anything else (lleaves missing, compile error, a difference)
leaves LightGBM answering, with the reason in the log and the health response. Why lleaves
and not tl2cgen: docs/serving.md.

Compiled code is cached per (model text, lleaves and llvmlite versions, this CPU): lleaves
itself checks nothing about a cache file (its docstring says so), so the key does.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from trainer import schema

TOLERANCE = 1e-9
SWITCH_ENV = "MLOPS_COMPILED_TREES"  # "off" keeps LightGBM
CACHE_ENV = "MLOPS_COMPILE_CACHE"
PARALLEL_ROWS = (
    512  # from here lleaves splits a batch over every core (1,000 rows: 7.9 ms, not 10.1)
)


@dataclass
class Engine:
    """What predicts for one model: LightGBM until compiled trees are built and verified."""

    state: str = "lightgbm"  # "compiling", "compiled", "fallback", "off"
    reason: str = ""
    largest_difference: float | None = None
    compile_seconds: float | None = None
    predict: Callable[[np.ndarray], np.ndarray] | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def describe(self) -> dict:
        return {
            "engine": "compiled trees (lleaves)" if self.state == "compiled" else "LightGBM",
            "state": self.state,
            "reason": self.reason,
            "largest_difference": self.largest_difference,
            "compile_seconds": self.compile_seconds,
        }


def choose(largest_difference: float, rows: int) -> tuple[bool, str]:
    """Pure: use the compiled trees only when they agree with LightGBM within TOLERANCE."""
    if not np.isfinite(largest_difference) or largest_difference > TOLERANCE:
        return False, (
            f"compiled predictions differ from LightGBM's by {largest_difference:.3g} on "
            f"{rows:,} verification rows (allowed {TOLERANCE:g}); LightGBM answers"
        )
    return True, f"equal to LightGBM within {largest_difference:.2g} on {rows:,} rows"


def verification_matrix(test_matrix: np.ndarray) -> np.ndarray:
    """The official test split, then rows that reach every category code and a missing value
    in every feature (unseen categories reach the model as missing: trainer/predict.py)."""
    base = test_matrix[:1]
    extra = []
    for j, feature in enumerate(schema.FEATURES):
        codes = range(len(feature.categories)) if feature.is_categorical else []
        for value in [*codes, np.nan]:
            row = base.copy()
            row[0, j] = value
            extra.append(row)
    return np.vstack([test_matrix, *extra])


def cache_key(model_text: str) -> str:
    import llvmlite.binding as llvm

    parts = [
        hashlib.sha256(model_text.encode()).hexdigest(),
        _version("lleaves"),
        _version("llvmlite"),
        llvm.get_host_cpu_name(),
        llvm.get_host_cpu_features().flatten(),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "none"


def cache_folder() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "census-mlops" / "compiled"


def build(model_text: str, reference: Callable, verify_rows: np.ndarray, engine: Engine) -> None:
    """Compile (or load from the cache), verify against `reference`, then switch `engine`."""
    started = time.perf_counter()
    try:
        import lleaves

        folder = cache_folder()
        folder.mkdir(parents=True, exist_ok=True)
        key = cache_key(model_text)
        model_file = folder / f"{key}.txt"
        if not model_file.exists():
            model_file.write_text(model_text)
        compiled = lleaves.Model(model_file=str(model_file))
        # finline=False: compiles 1,200 trees in ~10 s instead of ~43 s for ~10% slower code
        compiled.compile(cache=str(folder / f"{key}.o"), finline=False)

        def predict(matrix: np.ndarray) -> np.ndarray:
            jobs = 1 if len(matrix) < PARALLEL_ROWS else (os.cpu_count() or 1)
            return compiled.predict(matrix, n_jobs=jobs)

        largest = float(np.max(np.abs(predict(verify_rows) - reference(verify_rows))))
    except Exception as exc:  # any failure leaves LightGBM answering, and says why
        engine.state, engine.reason = "fallback", f"{type(exc).__name__}: {exc}"
        engine.done.set()
        return
    engine.compile_seconds = round(time.perf_counter() - started, 2)
    engine.largest_difference = largest
    use, engine.reason = choose(largest, len(verify_rows))
    if use:
        engine.predict = predict
        engine.state = "compiled"
    else:
        engine.state = "fallback"
    engine.done.set()


def start(
    model_text: str,
    reference: Callable,
    test_matrix: Callable[[], np.ndarray],
    report: Callable[[Engine], None] | None = None,
) -> Engine:
    """An Engine that compiles in a daemon thread; LightGBM answers until it is verified.
    `report` is called with the engine once it is decided (the server logs it)."""
    engine = Engine()
    if os.environ.get(SWITCH_ENV, "on").lower() in ("off", "0", "false", "no"):
        engine.state, engine.reason = "off", f"{SWITCH_ENV}=off"
        engine.done.set()
        return engine
    engine.state = "compiling"

    def work() -> None:
        try:
            rows = verification_matrix(test_matrix())
        except Exception as exc:
            engine.state, engine.reason = "fallback", f"no verification rows: {exc}"
            engine.done.set()
        else:
            build(model_text, reference, rows, engine)
        if report:
            report(engine)

    threading.Thread(target=work, name="compile-trees", daemon=True).start()
    return engine
