"""`mlops`: one entry point for the platform's jobs.

The subcommands live in mlops/commands/ (model, infra, pipeline, serving), each registering
its parsers and handlers; user mistakes (UserError) print one line and exit non-zero,
without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

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


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="mlops", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=OneLineParser
    )

    from mlops.commands import infra, model, pipeline, serving

    for area in (model, infra, pipeline, serving):
        area.add(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return run_handler(f"mlops {args.command}", args.handler, args)


if __name__ == "__main__":
    sys.exit(main())
