"""The local warehouse: DuckDB standing in for BigQuery, one database file per tenant.

It reads the file itself (as numbered lines, trainer/lines.py) and runs the census rules in
SQL (trainer/rules.py, transpiled from BigQuery's dialect): the data never passes through a
Python row loop, and memory stays flat as the file grows (the tables live on disk).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import duckdb
import pandas as pd
import pyarrow as pa

from kernel.errors import Busy, Damaged, DataError, UserError
from promotion.domain import statistics
from promotion.ports import CountRow, Ingested
from trainer import automl, lines, loader, rules, schema

_TABLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
MEMORY_LIMIT = "512MB"


def _table(name: str) -> str:
    """Table names come from code, never from users; checked anyway before SQL sees them."""
    if not _TABLE.match(name):
        raise ValueError(f"bad table name {name!r}")
    return f'"{name}"'


@contextlib.contextmanager
def database(
    path: Path, *, read_only: bool = False, config: dict[str, Any] | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A tenant's DuckDB file, open. A file DuckDB cannot read is one line naming it and
    what to do (`unreadable`: Damaged, exit 8, for a file that is not DuckDB's or has a
    corrupt block; Busy, exit 5, for another process's write lock), whether found on
    opening or on reading a damaged block; never a traceback, and the file is left as it
    is for a person to look at."""
    try:
        con = duckdb.connect(str(path), read_only=read_only, config=config or {})
    except duckdb.Error as exc:
        raise unreadable(path, exc) from None
    try:
        with con:
            yield con
    except duckdb.Error as exc:
        if not damaged(exc):
            raise  # the query's own error (a bug, a constraint): not the file's
        raise unreadable(path, exc) from None


def damaged(exc: duckdb.Error) -> bool:
    """Whether DuckDB's error is about the file rather than the query."""
    text = str(exc)
    return (
        isinstance(exc, duckdb.IOException)
        or type(exc) is duckdb.Error
        or any(word in text for word in ("Corrupt", "checksum", "not a valid DuckDB"))
    )


def unreadable(path: Path, exc: duckdb.Error) -> UserError:
    """Busy (exit 5) when a run holds the file's write lock, Damaged (exit 8) otherwise."""
    first = str(exc).splitlines()[0]
    if "Could not set lock" in first or "Conflicting lock" in first:
        return Busy(
            f"{path}: held by another process ({first}); a run writes it while it runs: "
            "try again when it ends"
        )
    return Damaged(
        f"{path}: the DuckDB file cannot be read ({first}); move it aside "
        f"(mv '{path}' '{path}.damaged') and run the pipeline again: ingest rebuilds its "
        "tables from the census files, and what else it held (run records, monitoring "
        "alerts) stays in the moved file"
    )


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the database holds `name` yet (readers open it read-only: no CREATE)."""
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchone()
    return bool(found and found[0])


class _Hashing:
    """A binary stream that hashes what is read through it."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream, self.digest = stream, hashlib.sha256()

    def read(self, size: int = -1, /) -> bytes:
        data = self.stream.read(size)
        self.digest.update(data)
        return data


class DuckDBWarehouse:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def _connect(self) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
        # A bounded buffer pool: DuckDB spills to disk beyond it, so a bigger file takes
        # longer, never more memory (bench/ingest.py measures it).
        return database(self.path, config={"memory_limit": MEMORY_LIMIT})

    def ingest(self, split: str, uri: str) -> Ingested:
        staged, slow, judged, census, bad = (
            _table(f"{t}_{split}") for t in ("staged", "slow", "judged", "census", "quarantine")
        )
        source, expected = _local_source(uri)
        try:
            stream = _Hashing(lines.open_binary(source))
        except FileNotFoundError:
            raise DataError(f"census data file not found: {uri}") from None
        with stream.stream, self._connect() as con:
            con.begin()  # all or nothing: a failure leaves the previous tables as they were
            batches = pa.RecordBatchReader.from_batches(lines.SCHEMA, lines.batches(stream))
            con.register("incoming", batches)
            # One pass over the stream: the fast path types most lines, the rest keep their
            # text for the rules (docs/ingest.md). Only that remainder is judged line by line.
            con.execute(f"CREATE OR REPLACE TABLE {staged} ({_staged_columns()})")
            con.execute(f"INSERT INTO {staged} {_duck(rules.staged_sql('incoming'))}")
            con.unregister("incoming")
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW slow_lines AS {_duck(rules.slow_lines(staged))}"
            )
            con.execute(f"CREATE OR REPLACE TABLE {slow} AS {_duck(rules.rules_sql('slow_lines'))}")
            _replace_view(con, judged, _duck(rules.judged_from(staged, slow)))
            _replace_view(con, census, _duck(rules.typed_from(judged)))
            _drop(con, bad)
            con.execute(f"CREATE TABLE {bad} AS {_duck(rules.quarantine_from(slow))}")
            (good,) = con.execute(f"SELECT count(*) FROM {census}").fetchone() or (0,)
            (quarantined,) = con.execute(f"SELECT count(*) FROM {bad}").fetchone() or (0,)
            digest = stream.digest.hexdigest()
            if expected and digest != expected:
                con.rollback()
                raise DataError(
                    f"{source}: SHA-256 mismatch: expected {expected}, got {digest}; "
                    "the file is corrupt or not the one recorded"
                )
            con.commit()
        return Ingested(int(good), int(quarantined), f"sha256:{digest}")

    def quarantined(self, split: str) -> list[loader.BadRow]:
        with self._connect() as con:
            rows = con.execute(
                f"SELECT line_number, reason, raw FROM {_table(f'quarantine_{split}')} "
                "ORDER BY line_number"
            ).fetchall()
        return [loader.BadRow(int(n), str(reason), str(raw)) for n, reason, raw in rows]

    def value_counts(self, split: str) -> list[CountRow]:
        sql = _duck(statistics.value_counts_sql(_table(f"census_{split}"), label=True))
        with self._connect() as con:
            rows = con.execute(sql).fetchall()
        return [(f, t, n, int(c)) for f, t, n, c in rows]

    def batch_predictions(self, table: str) -> pd.DataFrame:
        with self._connect() as con:
            if not has_table(con, table):
                raise DataError(f"no batch prediction table {table!r} in {self.path}")
            return con.execute(_duck(automl.batch_predictions_sql(_table(table)))).fetch_df()

    def export(self, split: str, destination: str) -> str:
        folder = Path(destination)
        folder.mkdir(parents=True, exist_ok=True)
        columns = ", ".join(schema.RAW_COLUMNS)
        with self._connect() as con:
            con.execute(
                f"COPY (SELECT {columns} FROM {_table(f'census_{split}')} ORDER BY line_number) "
                f"TO '{_path_literal(folder / 'part-0.csv')}' (HEADER, DELIMITER ',', NULLSTR '')"
            )
        return destination


def _staged_columns() -> str:
    """Categories stored as DuckDB ENUMs: a byte per value instead of a string, which makes
    the write to disk (the costliest part of ingest after the rules) about 1.3 s shorter at
    ten million rows. The fast path only ever stores known categories there."""

    def enum(values: tuple[str, ...]) -> str:
        return "ENUM(" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"

    columns = ["line_number BIGINT", "raw VARCHAR"]
    for feature in schema.FEATURES:
        kind = enum(feature.categories) if feature.is_categorical else "DOUBLE"
        columns.append(f"{feature.name} {kind}")
    columns.append(f"{schema.LABEL} {enum(tuple(schema.CLASSES))}")
    return ", ".join(columns)


def _duck(sql: str) -> str:
    return rules.in_dialect(sql, "duckdb")


def _drop(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop a table or view of that name, whichever it is (older databases held tables where
    views are now)."""
    bare = name.strip('"')
    found = con.execute(
        "SELECT table_type FROM information_schema.tables "
        "WHERE table_name = ? AND table_schema = 'main'",
        [bare],
    ).fetchone()
    if found:
        kind = "VIEW" if found[0] == "VIEW" else "TABLE"
        con.execute(f"DROP {kind} {name}")


def _replace_view(con: duckdb.DuckDBPyConnection, name: str, sql: str) -> None:
    _drop(con, name)
    con.execute(f"CREATE VIEW {name} AS {sql}")


def _local_source(uri: str) -> tuple[Path, str | None]:
    """(the file to read, the checksum it must have): a local path, or a bundled split."""
    if uri.startswith("bundled:"):
        split = uri.removeprefix("bundled:")
        path = loader.bundled_path(split)
        return path, loader.bundled_checksums()[path.name.removesuffix(".gz")]
    if "://" in uri and not uri.startswith("file://"):
        raise DataError(f"the local warehouse reads local files and bundled splits, not {uri}")
    return Path(uri.removeprefix("file://")), None


def _path_literal(path: Path) -> str:
    return str(path).replace("'", "''")
