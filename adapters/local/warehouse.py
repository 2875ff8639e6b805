"""The local warehouse: DuckDB standing in for BigQuery, one database file per tenant."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd

from trainer import loader

_TABLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _table(name: str) -> str:
    """Table names come from code, never from users; checked anyway before SQL sees them."""
    if not _TABLE.match(name):
        raise ValueError(f"bad table name {name!r}")
    return f'"{name}"'


class DuckDBWarehouse:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.path))

    def load_raw_lines(self, table: str, uri: str) -> int:
        """Raw file into a (line_number, line) table: the warehouse keeps what arrived."""
        text = loader.read_source(uri).decode("utf-8", errors="replace")
        frame = pd.DataFrame(
            {"line_number": range(1, len(text.splitlines()) + 1), "line": text.splitlines()}
        )
        self.write_frame(table, frame)
        return len(frame)

    def read_lines(self, table: str) -> list[str]:
        with self._connect() as con:
            query = f"SELECT line FROM {_table(table)} ORDER BY line_number"
            rows = con.execute(query).fetchall()
        return [r[0] for r in rows]

    def write_frame(self, table: str, frame: pd.DataFrame) -> None:
        plain = frame.copy()
        for column in plain.columns:
            if isinstance(plain[column].dtype, pd.CategoricalDtype):
                plain[column] = plain[column].astype(object).where(plain[column].notna(), None)
        with self._connect() as con:
            con.register("incoming", plain)
            con.execute(f"CREATE OR REPLACE TABLE {_table(table)} AS SELECT * FROM incoming")
            con.unregister("incoming")
