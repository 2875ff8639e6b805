"""`mlops` as a newcomer first meets it: alone, with --version, and an answer that is not an
error (exit codes: kernel/exit_codes.py)."""

from importlib.metadata import version

import pytest
from warehouse_holder import held

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


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["rnu"], "mlops: error: unknown command 'rnu': did you mean 'run'?"),
        (["cannary"], "unknown command 'cannary': did you mean 'canary'?"),
        (["run", "--locl"], "mlops: error: unknown flag --locl: did you mean '--local'?"),
        (["serve", "--prot", "3"], "unknown flag --prot: did you mean '--port'?"),
        (["runs", "compaer", "a", "b"], "unknown action 'compaer': did you mean 'compare'?"),
        (["run", "--zzz"], "mlops: error: unrecognized arguments: --zzz (see mlops --help)"),
        (["runs", "--limit", "0"], "argument --limit: 0 must be 1 or more"),
        (["runs", "--limit", "-1"], "argument --limit: -1 must be 1 or more"),
        (["runs", "--limit", "all"], "argument --limit: 'all' is not a whole number"),
    ],
)
def test_a_misspelt_command_or_flag_gets_the_nearest_and_a_bad_count_is_named(argv, said, capsys):
    with pytest.raises(SystemExit) as done:
        main(argv)
    err = capsys.readouterr().err
    assert done.value.code == exit_codes.BAD_INPUT and err.count("\n") == 1 and said in err


def test_help_names_each_command_s_own_default_env(capsys):
    for command, env in (("cost", "prod"), ("lineage", "prod"), ("runs", "staging")):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert f"(default: {env})" in " ".join(capsys.readouterr().out.split())


@pytest.mark.slow  # a process whose reader goes away, as `mlops runs | head` does
def test_a_reader_that_stops_early_gets_no_traceback():
    import subprocess
    import sys

    code = (
        "import sys; from mlops import cli; from mlops.commands import runs; "
        "runs.list_runs = lambda a: [print('x' * 99) for _ in range(100_000)] and 0; "
        "sys.exit(cli.main(['runs']))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.read(100)
        proc.stdout.close()
        assert proc.wait(timeout=120) == exit_codes.OK
        assert proc.stderr.read() == b""
    finally:
        proc.kill()  # a no-op once it has exited
        proc.wait()


def test_the_simulated_vertex_run_refuses_an_unknown_parameter_before_it_starts(tmp_path, capsys):
    argv = ["run", "--target", "vertex", "--simulated", "--workspace", str(tmp_path)]
    assert main([*argv, "--param", "foo.bar=1"]) == exit_codes.BAD_INPUT
    assert "unknown pipeline parameter 'foo.bar'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # no cloud was started


def test_a_damaged_warehouse_is_one_line_for_runs_and_lineage(tmp_path, capsys):
    """A warehouse file that is not DuckDB's (a copy cut short, a hand edit) was an
    IOException traceback from `mlops runs`; now one line naming the file, exit 8."""
    warehouse = tmp_path / "census-ml-staging" / "warehouse.duckdb"
    warehouse.parent.mkdir(parents=True)
    warehouse.write_bytes(b"not a database" * 100)
    assert main(["runs", "--workspace", str(tmp_path)]) == exit_codes.DAMAGED
    err = capsys.readouterr().err
    assert err.startswith(f"mlops runs: error: {warehouse}: the DuckDB file cannot be read (")
    assert "Traceback" not in err and warehouse.read_bytes().startswith(b"not a database")


@pytest.mark.slow  # another process holds the file
def test_a_warehouse_a_run_is_writing_is_a_wait_not_damage(tmp_path, capsys):
    """Another process holding the warehouse's write lock (a run writing it) is exit 5,
    "try again", and names the file: nothing is wrong with it."""
    warehouse = tmp_path / "census-ml-staging" / "warehouse.duckdb"
    warehouse.parent.mkdir(parents=True)
    with held(warehouse):
        assert main(["runs", "--workspace", str(tmp_path)]) == exit_codes.WAIT
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"mlops runs: error: {warehouse}: held by another process (")
    assert line.endswith("try again when it ends")
    assert main(["runs", "--workspace", str(tmp_path)]) == exit_codes.OK  # once let go
