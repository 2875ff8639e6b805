"""Command-line plumbing shared by `mlops` and `python -m trainer.task`.

A usage mistake or a UserError is one line naming the command, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from kernel import exit_codes
from kernel.errors import Outcome, UserError


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line naming the command, not a usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


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
