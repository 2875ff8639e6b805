"""A failed run whose record cannot be written (the warehouse damaged, or held by another
process) still reports the step's failure, with a warning that the record is missing:
the warehouse's own error never replaces the step's."""

from pathlib import Path

import pytest
from local_prod import PLATFORM
from warehouse_holder import held

from pipelines import params
from pipelines.runner import PipelineFailed, record_failure

STAGING = "census-ml-staging"


def failed(tmp_path: Path) -> PipelineFailed:
    return PipelineFailed(
        step="train", error="boom", log_path=tmp_path / "run.log", run_id="r1", wall_seconds=1.0
    )


def recorded(tmp_path: Path) -> None:
    built = params.build(PLATFORM, "staging", {}, local=True)
    record_failure(failed(tmp_path), built, tmp_path, fallback_id="r0")


def test_a_damaged_warehouse_is_a_warning_and_left_as_it_is(tmp_path, capsys):
    warehouse = tmp_path / STAGING / "warehouse.duckdb"
    warehouse.parent.mkdir(parents=True)
    warehouse.write_bytes(b"not a database" * 100)
    recorded(tmp_path)
    err = capsys.readouterr().err
    assert err.startswith("mlops run: warning: the failed run could not be recorded: ")
    assert f"{warehouse}: the DuckDB file cannot be read (" in err
    assert warehouse.read_bytes() == b"not a database" * 100


@pytest.mark.slow  # another process holds the file
def test_a_warehouse_held_by_another_process_is_a_warning(tmp_path, capsys):
    warehouse = tmp_path / STAGING / "warehouse.duckdb"
    warehouse.parent.mkdir(parents=True)
    with held(warehouse):
        recorded(tmp_path)
    err = capsys.readouterr().err
    assert err.startswith("mlops run: warning: the failed run could not be recorded: ")
    assert f"{warehouse}: held by another process (" in err
