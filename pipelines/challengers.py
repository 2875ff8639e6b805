"""The challengers of a run as KFP passes them: a model folder each, or a skip marker.

A trainer the run's `trainer` parameter left out writes a marker instead of a model, so the
steps after it know the challenger is absent rather than broken.
"""

from __future__ import annotations

from pathlib import Path

from kernel.atomic import write_json
from kernel.errors import UserError

SKIPPED_FILE = "skipped.json"


def mark_skipped(folder: Path, trainer: str) -> None:
    write_json(folder / SKIPPED_FILE, {"skipped": trainer})


def present(custom: str | Path, automl: str | Path) -> dict[str, Path]:
    """The challengers that ran, by trainer, custom first (its folder, or its skip marker)."""
    models = {"custom": Path(custom), "automl": Path(automl)}
    found = {name: path for name, path in models.items() if not (path / SKIPPED_FILE).exists()}
    if not found:
        raise UserError("no challenger: the run's trainer parameter left every trainer out")
    return found


def metric_prefix(trainer: str) -> str:
    """How a challenger's KFP metrics are named: the custom trainer's as they always were,
    any other's prefixed with its name (automl_roc_auc)."""
    return "" if trainer == "custom" else f"{trainer}_"
