"""The local warehouse: DuckDB standing in for BigQuery, one database file per tenant.

It reads the file itself (as numbered lines, trainer/lines.py) and runs the census rules in
SQL (trainer/rules.py, transpiled from BigQuery's dialect): the data never passes through a
Python row loop, and memory stays flat as the file grows (the tables live on disk).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import BinaryIO

import duckdb
import pyarrow as pa

from kernel.errors import DataError
from promotion.ports import Ingested
from trainer import lines, loader, rules, schema

_TABLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
MEMORY_LIMIT = "512MB"


def _table(name: str) -> str:
    """Table names come from code, never from users; checked anyway before SQL sees them."""
    if not _TABLE.match(name):
        raise ValueError(f"bad table name {name!r}")
    return f'"{name}"'


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

    def _connect(self) -> duckdb.DuckDBPyConnection:
        # A bounded buffer pool: DuckDB spills to disk beyond it, so a bigger file takes
        # longer, never more memory (bench/ingest.py measures it).
        return duckdb.connect(str(self.path), config={"memory_limit": MEMORY_LIMIT})

    def ingest(self, split: str, uri: str) -> Ingested:
        raw, judged, census, bad = (
            _table(f"{t}_{split}") for t in ("raw", "judged", "census", "quarantine")
        )
        source, expected = _local_source(uri)
        try:
            stream = _Hashing(lines.open_binary(source))
        except FileNotFoundError:
            raise DataError(f"census data file not found: {uri}") from None
        with stream.stream, self._connect() as con:
            batches = pa.RecordBatchReader.from_batches(lines.SCHEMA, lines.batches(stream))
            con.register("incoming", batches)
            con.execute(f"CREATE OR REPLACE TABLE {raw} AS SELECT * FROM incoming")
            con.unregister("incoming")
            # the rules run once; the typed and quarantine tables are its two halves
            sql = rules.in_dialect(rules.judged_sql(raw), "duckdb")
            con.execute(f"CREATE OR REPLACE TEMP TABLE {judged} AS {sql}")
            for table, part in ((census, rules.typed_from), (bad, rules.quarantine_from)):
                query = rules.in_dialect(part(judged), "duckdb")
                con.execute(f"CREATE OR REPLACE TABLE {table} AS {query}")
            (good,) = con.execute(f"SELECT count(*) FROM {census}").fetchone() or (0,)
            (quarantined,) = con.execute(f"SELECT count(*) FROM {bad}").fetchone() or (0,)
        digest = stream.digest.hexdigest()
        if expected and digest != expected:
            raise DataError(
                f"{source}: SHA-256 mismatch: expected {expected}, got {digest}; "
                "the file is corrupt or not the one recorded"
            )
        return Ingested(int(good), int(quarantined), f"sha256:{digest}")

    def quarantined(self, split: str) -> list[loader.BadRow]:
        with self._connect() as con:
            rows = con.execute(
                f"SELECT line_number, reason, raw FROM {_table(f'quarantine_{split}')} "
                "ORDER BY line_number"
            ).fetchall()
        return [loader.BadRow(int(n), str(reason), str(raw)) for n, reason, raw in rows]

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
