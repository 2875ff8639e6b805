"""Train on adult.data, evaluate on adult.test, write the artifact, metrics and report.

`python -m trainer.task` is the Vertex AI custom-training entry point (it honours
AIP_MODEL_DIR); `mlops train` is the same code with a friendlier default output folder.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from kernel.atomic import write_json
from kernel.errors import UserError
from trainer import evaluate, features, loader, report
from trainer.hyperparameters import Hyperparameters
from trainer.model import CensusModel, print_progress, train
from trainer.options import DEFAULT_MAX_BAD_FRACTION, add_arguments, hyperparameters_from_args

METRICS_FILE = "metrics.json"
REPORT_FILE = "report.html"


def run_training(
    *,
    output_dir: Path,
    model_dir: Path,
    hyperparameters: Hyperparameters,
    train_source: str | None = None,
    test_source: str | None = None,
    max_bad_fraction: float = DEFAULT_MAX_BAD_FRACTION,
    log=print,
) -> dict:
    """The whole training job; returns the metrics it wrote."""
    started = time.perf_counter()
    loaded = {}
    for split, source in (("train", train_source), ("test", test_source)):
        loaded[split] = loader.load_census(
            source,
            split=split,
            max_bad_fraction=max_bad_fraction,
            quarantine_path=output_dir / "quarantine" / f"{split}.jsonl",
        )
        log(f"loaded {loaded[split].summary()}")
    train_data, test_data = loaded["train"], loaded["test"]
    log(f"training {hyperparameters.num_boost_round} rounds of gradient-boosted trees")
    model = train(
        train_data.frame, hyperparameters, data_sha256=train_data.sha256, progress=print_progress()
    )
    model.save(model_dir)
    metrics: dict = {
        **evaluate_model(model, test_data),
        "data": {"train": train_data.provenance(), "test": test_data.provenance()},
        "train_seconds": round(time.perf_counter() - started, 3),
    }
    write_json(output_dir / METRICS_FILE, metrics)
    report.write_report(output_dir / REPORT_FILE, {"custom trainer": metrics})
    log(
        f"test split: accuracy {metrics['accuracy']:.4f}  ROC AUC {metrics['roc_auc']:.4f}  "
        f"log loss {metrics['log_loss']:.4f}  F1 {metrics['f1']:.4f}"
    )
    log(f"model   {model_dir}")
    log(f"metrics {output_dir / METRICS_FILE}")
    log(f"report  {output_dir / REPORT_FILE}")
    return metrics


def evaluate_model(model: CensusModel, test_data: loader.LoadResult) -> evaluate.Evaluation:
    frame = test_data.frame
    probabilities = model.predict_proba(frame)
    return evaluate.evaluate(frame, features.labels(frame), probabilities, model.threshold)


def vertex_path(uri: str) -> Path:
    """Vertex mounts Cloud Storage at /gcs, so gs://bucket/x is the file /gcs/bucket/x."""
    return Path("/gcs/" + uri.removeprefix("gs://")) if uri.startswith("gs://") else Path(uri)


def main(argv: list[str] | None = None) -> int:
    from kernel.commandline import OneLineParser, run_handler

    parser = OneLineParser(prog="python -m trainer.task", description=__doc__)
    parser.add_argument(
        "--model-dir",
        default=os.environ.get("AIP_MODEL_DIR"),
        help="where the model goes (default: $AIP_MODEL_DIR, as Vertex AI sets it)",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)

    def handler(args: argparse.Namespace) -> int:
        if not args.model_dir:
            raise UserError("no model directory: pass --model-dir or set AIP_MODEL_DIR")
        model_dir = vertex_path(args.model_dir)
        run_training(
            output_dir=model_dir,
            model_dir=model_dir,
            hyperparameters=hyperparameters_from_args(args),
            train_source=args.train_data,
            test_source=args.test_data,
            max_bad_fraction=args.max_bad_fraction,
        )
        return 0

    return run_handler(parser.prog, handler, args)


if __name__ == "__main__":
    sys.exit(main())
