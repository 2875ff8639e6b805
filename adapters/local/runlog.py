"""Run records in the staging tenant's DuckDB warehouse (Vertex: Experiments; docs/lineage.md).

One row per step record, facts as JSON: a failed run keeps what its finished steps did,
and `mlops runs` reads 1,000 runs in one query.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from adapters.local.warehouse import database, has_table
from promotion.ports import StepRecord

TABLE = "run_facts"
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    run_id VARCHAR NOT NULL,
    step VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL,  -- UTC
    facts JSON NOT NULL
)
"""


class DuckDBRunLog:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def record(self, run_id: str, step: str, facts: dict) -> None:
        if not run_id or not step:
            raise ValueError(f"a run record needs a run id and a step, got {run_id!r}/{step!r}")
        text = json.dumps(facts, sort_keys=True, allow_nan=False)  # JSON has no NaN
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with database(self.path) as con:
            con.execute(SCHEMA)
            con.execute(
                f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?)",
                [run_id, step, datetime.now(UTC).replace(tzinfo=None), text],
            )

    def records(self) -> list[StepRecord]:
        if not self.path.exists():
            return []
        with database(self.path, read_only=True) as con:
            if not has_table(con, TABLE):
                return []
            rows = con.execute(
                f"SELECT run_id, step, recorded_at, facts FROM {TABLE} ORDER BY recorded_at"
            ).fetchall()
        return [StepRecord(r, s, at.replace(tzinfo=UTC), json.loads(f)) for r, s, at, f in rows]
