"""`mlops` as a newcomer first meets it: alone, with --version, and an answer that is not an
error (exit codes: kernel/exit_codes.py)."""

from importlib.metadata import version

import pytest

from kernel import exit_codes
from kernel.commandline import run_handler
from kernel.errors import UserError
from mlops.cli import main
from promotion.steps.canary import NothingToJudge


def test_mlops_alone_prints_what_it_can_do(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: mlops") and "--version" in out
    assert "run" in out and "canary" in out  # the commands, listed


def test_version_is_the_installed_package_s(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"mlops {version('census-mlops')}"


def test_an_answer_is_not_printed_as_an_error(capsys):
    def nothing(_):
        raise NothingToJudge("no canary to judge: the endpoint has no challenger version")

    def mistake(_):
        raise UserError("bad --env")

    assert run_handler("mlops canary", nothing, None) == exit_codes.NOTHING_TO_JUDGE
    assert capsys.readouterr().err == (
        "mlops canary: no canary to judge: the endpoint has no challenger version\n"
    )
    assert run_handler("mlops deploy", mistake, None) == exit_codes.BAD_INPUT
    assert capsys.readouterr().err == "mlops deploy: error: bad --env\n"
