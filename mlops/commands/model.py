"""`mlops train`: the census model alone, outside the pipeline."""

from __future__ import annotations

import argparse
from pathlib import Path


def train(args: argparse.Namespace) -> int:
    from trainer import task
    from trainer.options import hyperparameters_from_args

    output = Path(args.output_dir)
    task.run_training(
        output_dir=output,
        model_dir=output / "model",
        hyperparameters=hyperparameters_from_args(args),
        train_source=args.train_data,
        test_source=args.test_data,
        max_bad_fraction=args.max_bad_fraction,
    )
    return 0


def add(commands) -> None:
    from trainer.options import add_arguments

    sub = commands.add_parser("train", help="train and evaluate the census model")
    sub.add_argument(
        "--output-dir",
        default="build/train",
        help="where the model, metrics.json and report.html go (default %(default)s)",
    )
    add_arguments(sub)
    sub.set_defaults(handler=train)
