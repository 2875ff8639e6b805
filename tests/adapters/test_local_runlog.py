"""The local run log: step records in the staging tenant's DuckDB warehouse."""

import json

import duckdb
import pytest

from adapters.local.runlog import DuckDBRunLog
from adapters.local.warehouse import DuckDBWarehouse
from trainer import loader


def test_records_round_trip_beside_the_warehouse_tables(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    log = DuckDBRunLog(path)
    assert log.records() == []  # no database yet
    DuckDBWarehouse(path).ingest("train", str(loader.bundled_path("test")))
    assert log.records() == []  # a database without the table
    facts = {"commit": "abc", "splits": {"train": {"rows": 32561, "checksum": None}}}
    log.record("run-1", "ingest", facts)
    log.record("run-1", "evaluate", {"metrics": {"roc_auc": 0.93}})
    (first, second) = log.records()
    assert (first.run_id, first.step, first.facts) == ("run-1", "ingest", facts)
    assert first.recorded_at <= second.recorded_at and first.recorded_at.tzinfo is not None
    with duckdb.connect(str(path), read_only=True) as con:  # the warehouse's own tables stay
        assert con.execute("SELECT count(*) FROM census_train").fetchone()[0] == 16281


def test_bad_records_are_refused_and_write_nothing(tmp_path):
    log = DuckDBRunLog(tmp_path / "w.duckdb")
    with pytest.raises(ValueError, match="needs a run id and a step"):
        log.record("", "ingest", {})
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        log.record("run-1", "evaluate", {"roc_auc": float("nan")})
    assert log.records() == []
    log.record("run-1", "ingest", {"n": 1})
    assert [json.dumps(r.facts) for r in log.records()] == ['{"n": 1}']
