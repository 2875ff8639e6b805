"""The local warehouse (DuckDB): the fast path and the rules split the work, the result is
the rules' own; an ingest is all or nothing; databases written by older versions still load."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest
from samples import fuzzed_lines

from adapters.local import warehouse as local
from adapters.local.warehouse import DuckDBWarehouse
from kernel.errors import DataError
from trainer import lines, loader, rules, schema


def write(tmp_path, text_lines: list[str], name: str = "census.csv"):
    path = tmp_path / name
    path.write_bytes(("\n".join(text_lines) + "\n").encode())
    return path


def test_the_warehouse_gives_the_rules_verdict_on_every_fuzzed_line(tmp_path):
    text_lines = fuzzed_lines(3000, seed=11)
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    got = warehouse.ingest("train", str(write(tmp_path, text_lines)))

    table = pa.table(
        {"line_number": range(1, len(text_lines) + 1), "raw": text_lines}, schema=lines.SCHEMA
    )
    with duckdb.connect() as con:
        con.register("raw_lines", table)
        judged = con.execute(
            rules.in_dialect(rules.rules_sql("raw_lines"), "duckdb") + " ORDER BY line_number"
        ).fetchall()
    expected_bad = [(n, reason, raw) for n, raw, reason, *_ in judged if reason]
    assert [(b.line, b.reason, b.raw) for b in warehouse.quarantined("train")] == expected_bad
    assert (got.rows, got.quarantined) == (len(judged) - len(expected_bad), len(expected_bad))

    exported = loader.load_census(warehouse.export("train", str(tmp_path / "out"))).frame
    expected_good = [row[3:] for row in judged if not row[2]]
    assert len(exported) == len(expected_good)
    for column, values in zip(schema.RAW_COLUMNS, zip(*expected_good, strict=True), strict=True):
        assert [_plain(v) for v in exported[column]] == [_plain(v) for v in values], column


def _plain(value):
    """None for every spelling of missing (NULL, NaN), the value otherwise."""
    return None if value is None or value != value else value


def test_a_failed_ingest_leaves_the_previous_tables(tmp_path, monkeypatch):
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    first = warehouse.ingest("train", str(write(tmp_path, fuzzed_lines(200, seed=1))))
    source = write(tmp_path, fuzzed_lines(300, seed=2), "other.csv")
    monkeypatch.setattr(local, "_local_source", lambda uri: (source, "0" * 64))
    with pytest.raises(DataError, match="SHA-256 mismatch"):
        warehouse.ingest("train", "bundled:train")
    monkeypatch.undo()
    assert len(warehouse.quarantined("train")) == first.quarantined
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        (rows,) = con.execute('SELECT count(*) FROM "census_train"').fetchone() or (0,)
    assert rows == first.rows


def test_a_database_from_the_table_layout_ingests_again(tmp_path):
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:  # what the previous version left: tables
        for name in ("census_train", "judged_train", "quarantine_train"):
            con.execute(f"CREATE TABLE {name} (line_number BIGINT)")
    got = DuckDBWarehouse(path).ingest("train", str(write(tmp_path, fuzzed_lines(100, seed=3))))
    with duckdb.connect(str(path)) as con:
        (rows,) = con.execute("SELECT count(*) FROM census_train").fetchone() or (0,)
    assert rows == got.rows > 0
