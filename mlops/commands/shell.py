"""`mlops completion SHELL`: completion of commands, actions and flags (argcomplete)."""

from __future__ import annotations

import argparse

SHELLS = ("bash", "zsh", "fish")


def completion(args: argparse.Namespace) -> int:
    import argcomplete

    print(argcomplete.shellcode(["mlops"], shell=args.shell))
    return 0


def add(commands) -> None:
    sub = commands.add_parser("completion", help="shell completion for mlops (bash, zsh, fish)")
    sub.add_argument("shell", choices=SHELLS)
    sub.set_defaults(handler=completion)
