"""Training options on the command line, shared by `mlops train` and `python -m trainer.task`.

Kept free of pandas and LightGBM so building the `mlops` parser stays fast.
"""

from __future__ import annotations

import argparse

from pydantic import ValidationError

from kernel.errors import UserError, validation_problems
from trainer.hyperparameters import Hyperparameters

DEFAULT_MAX_BAD_FRACTION = 0.01


def add_arguments(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("data")
    data.add_argument("--train-data", help="CSV path or URL (default: the bundled adult.data)")
    data.add_argument("--test-data", help="CSV path or URL (default: the bundled adult.test)")
    data.add_argument(
        "--max-bad-fraction",
        type=float,
        default=DEFAULT_MAX_BAD_FRACTION,
        help="fail when more than this fraction of rows is malformed (default %(default)s)",
    )
    hyper = parser.add_argument_group("hyperparameters")
    for name, info in Hyperparameters.model_fields.items():
        hyper.add_argument(
            "--" + name.replace("_", "-"),
            dest=f"hp_{name}",
            metavar=type(info.default).__name__.upper(),
            help=f"{info.description} (default {info.default})",
        )


def hyperparameters_from_args(args: argparse.Namespace) -> Hyperparameters:
    given = {
        name: getattr(args, f"hp_{name}")
        for name in Hyperparameters.model_fields
        if getattr(args, f"hp_{name}", None) is not None
    }
    return parse_hyperparameters(given)


def parse_hyperparameters(values: dict) -> Hyperparameters:
    try:
        return Hyperparameters.model_validate(values)
    except ValidationError as exc:
        first = validation_problems(exc)[0]
        flag = "--" + first.field.replace("_", "-")
        raise UserError(f"hyperparameter {flag}: {first.message} (got {first.value!r})") from None
