"""`mlops train`: the census model alone, outside the pipeline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kernel.commandline import add_json_flag, print_json


def train(args: argparse.Namespace) -> int:
    from trainer import task
    from trainer.options import hyperparameters_from_args

    output = Path(args.output_dir)
    log = (lambda line: print(line, file=sys.stderr, flush=True)) if args.json else print
    metrics = task.run_training(
        output_dir=output,
        model_dir=output / "model",
        hyperparameters=hyperparameters_from_args(args),
        train_source=args.train_data,
        test_source=args.test_data,
        max_bad_fraction=args.max_bad_fraction,
        log=log,
    )
    if args.json:  # the figures; the curves stay in metrics.json and the report
        shown = {k: v for k, v in metrics.items() if not k.endswith(("_curve", "histogram"))}
        print_json({**shown, "output_dir": str(output)})
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
    add_json_flag(sub)
    sub.set_defaults(handler=train)
