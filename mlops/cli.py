"""`mlops`: one entry point for the platform's jobs.

The top of the stack, imported by nothing: the subcommands live in mlops/commands/ (model,
infra, pipeline, serving, runs, simulate, shell), each registering its parsers and handlers;
they parse and print, and leave the work to the packages below; guide.py gives each its
description and examples. User mistakes (UserError) print one line and
exit non-zero, without a traceback.
"""

from __future__ import annotations

import os
import sys

from kernel import exit_codes
from kernel.commandline import OneLineParser, run_handler


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="mlops", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"mlops {version()}")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=OneLineParser
    )

    from mlops.commands import guide, infra, model, pipeline, runs, serving, shell, simulate

    for area in (model, infra, pipeline, serving, runs, simulate, shell):
        area.add(commands)
    guide.annotate(parser)
    return parser


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("census-mlops")
    except PackageNotFoundError:  # run from a checkout without `make install`
        return "(not installed)"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    if "_ARGCOMPLETE" in os.environ:  # the shell asks for completions (`mlops completion`)
        import argcomplete

        argcomplete.autocomplete(parser)  # answers and exits
    given = sys.argv[1:] if argv is None else argv
    if not given:  # `mlops` alone: what it can do, not an error
        parser.print_help()
        return 0
    args = parser.parse_args(given)
    try:
        return run_handler(f"mlops {args.command}", args.handler, args)
    except BrokenPipeError:  # `mlops runs | head`: the reader had enough; no traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's own flush at exit would fail too
        return exit_codes.OK


if __name__ == "__main__":
    sys.exit(main())
