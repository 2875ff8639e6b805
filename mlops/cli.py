"""`mlops`: one entry point for the platform's jobs.

Each subcommand registers itself with `add_parser` and names a handler; user mistakes
(UserError) print one line and exit non-zero, without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from mlops.errors import UserError


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line naming the command, not a usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def run_handler(prog: str, handler: Callable[[argparse.Namespace], int], args) -> int:
    try:
        return handler(args) or 0
    except UserError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def _train(args: argparse.Namespace) -> int:
    from trainer import task

    output = Path(args.output_dir)
    task.run_training(
        output_dir=output,
        model_dir=output / "model",
        hyperparameters=task.hyperparameters_from_args(args),
        train_source=args.train_data,
        test_source=args.test_data,
        max_bad_fraction=args.max_bad_fraction,
    )
    return 0


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="mlops", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=OneLineParser
    )

    train = commands.add_parser("train", help="train and evaluate the census model")
    train.add_argument(
        "--output-dir",
        default="build/train",
        help="where the model, metrics.json and report.html go (default %(default)s)",
    )
    from trainer import task

    task.add_arguments(train)
    train.set_defaults(handler=_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return run_handler(f"mlops {args.command}", args.handler, args)


if __name__ == "__main__":
    sys.exit(main())
