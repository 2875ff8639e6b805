"""Command-line plumbing shared by `mlops` and `python -m trainer.task`.

A usage mistake or a UserError is one line naming the command, never a traceback.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Callable

from kernel import exit_codes
from kernel.errors import Outcome, UserError

_CHOICE = re.compile(r"argument (\S+): invalid choice: '([^']*)' \(choose from (.*)\)$")
_UNKNOWN = re.compile(r"^unrecognized arguments: (.*)$")


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line naming the command, not a usage dump, and
    a misspelt command or flag gets the nearest ones it could have meant."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {explain(self, message)} (see {self.prog} --help)\n")


def explain(parser: argparse.ArgumentParser, message: str) -> str:
    """argparse's message, with "did you mean" for an unknown command or flag (pure)."""
    choice = _CHOICE.match(message)
    if choice:
        name, given, listed = choice.groups()
        known = re.findall(r"'([^']*)'", listed)
        # among a few short commands a transposition ('rnu') is still close enough
        return f"unknown {name.lower()} {given!r}{_nearest(given, known, cutoff=0.6)}"
    unknown = _UNKNOWN.match(message)
    if unknown:
        flags = [w.split("=")[0] for w in unknown.group(1).split() if w.startswith("--")]
        hints = [f"{f}{_nearest(f, options_of(parser))}" for f in flags]
        if any("did you mean" in h for h in hints):
            return "unknown flag " + "; unknown flag ".join(hints)
    return message


def _nearest(given: str, known: list[str], cutoff: float = 0.75) -> str:
    close = difflib.get_close_matches(given, known, n=2, cutoff=cutoff)
    return f": did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def options_of(parser: argparse.ArgumentParser) -> list[str]:
    """Every --flag of the parser and its subcommands' parsers."""
    found = [o for o in parser._option_string_actions if o.startswith("--")]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found += options_of(child)
    return sorted(set(found))


def positive_int(text: str) -> int:
    """An argparse type: a count of 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be 1 or more")
    return value


def run_handler(
    prog: str, handler: Callable[[argparse.Namespace], int | None], args: argparse.Namespace
) -> int:
    try:
        return handler(args) or 0
    except UserError as exc:
        kind = "" if isinstance(exc, Outcome) else "error: "
        print(f"{prog}: {kind}{exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return exit_codes.INTERRUPTED


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print the result as JSON on stdout (progress and "
        "messages go to stderr; the exit code is the same)"
    )  # fmt: skip


def print_json(value: object) -> None:
    """One JSON document on stdout: what a script reads instead of the table."""
    import json

    print(json.dumps(value, indent=2, sort_keys=True, default=str))
