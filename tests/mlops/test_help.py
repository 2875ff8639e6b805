"""Every command explains itself: a description and examples in its --help, each example
accepted by the real parser; and the shell completes commands and flags."""

import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mlops.cli import build_parser
from mlops.commands.guide import GUIDE, commands_of

PARSER = build_parser()
COMMANDS = commands_of(PARSER)


def test_every_command_and_action_has_a_description_and_examples():
    assert set(COMMANDS) == set(GUIDE), "a command without a guide entry, or a stale entry"
    for path, parser in COMMANDS.items():
        assert parser.description and len(parser.description) > 40, path
        assert parser.epilog and parser.epilog.startswith("examples:\n  mlops "), path


@pytest.mark.parametrize(
    ("path", "example"), [(p, e) for p, (_, examples) in GUIDE.items() for e in examples]
)
def test_each_example_is_accepted_by_the_parser(path, example):
    words = shlex.split(example)
    words = words[: words.index(">>")] if ">>" in words else words
    words = words[: words.index(">")] if ">" in words else words
    assert words[0] == "mlops" and " ".join(words[1:]).startswith(path)
    args = PARSER.parse_args(words[1:])  # a bad example exits 2 here
    assert callable(args.handler)


@pytest.mark.slow  # runs `mlops ... --help`
def test_help_shows_the_description_above_the_flags_and_the_examples_below():
    done = subprocess.run(
        [sys.executable, "-m", "mlops.cli", "runs", "compare", "--help"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0
    text = done.stdout
    assert text.index("Two runs side by side") < text.index("options:") < text.index("examples:")
    assert "\n  mlops runs compare latest~1 latest\n" in text  # as written, not re-wrapped


def complete(line: str) -> set[str]:
    """What the shell gets when the user presses tab at the end of `line` (argcomplete's
    protocol: the command runs with _ARGCOMPLETE set and answers in the file named)."""
    with tempfile.TemporaryDirectory() as folder:
        answer = Path(folder) / "answer"
        env = {
            **os.environ,
            "_ARGCOMPLETE": "1",
            "_ARGCOMPLETE_IFS": "\n",
            "COMP_LINE": line,
            "COMP_POINT": str(len(line)),
            "_ARGCOMPLETE_STDOUT_FILENAME": str(answer),
        }
        done = subprocess.run(
            [sys.executable, "-m", "mlops.cli"], env=env, capture_output=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return {w.strip() for w in answer.read_text().split("\n") if w.strip()}


@pytest.mark.slow  # runs the completion hook
def test_the_shell_completes_commands_actions_and_flags():
    assert complete("mlops ru") == {"run", "runs"}
    assert complete("mlops runs comp") == {"compare"}
    assert "--min-rows" in complete("mlops monitor --m")
    assert {"bash", "zsh", "fish"} <= complete("mlops completion ")


@pytest.mark.slow  # runs `mlops completion SHELL`
@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_shells_code(shell):
    done = subprocess.run(
        [sys.executable, "-m", "mlops.cli", "completion", shell], capture_output=True, text=True
    )
    assert done.returncode == 0 and "mlops" in done.stdout and "_ARGCOMPLETE" in done.stdout


REPORTING = {
    "run", "train", "policy", "monitor", "canary", "doctor", "runs", "runs compare",
    "lineage", "cost", "simulate life", "simulate infra", "simulate ci", "submit", "deploy",
}  # fmt: skip


def test_every_command_that_reports_takes_json():
    for path in REPORTING:
        assert "--json" in COMMANDS[path]._option_string_actions, path
