"""The request log: every request and response, appended to the local warehouse.

The local stand-in for Vertex AI's request-response logging to BigQuery. Requests are
queued by the server and written by a background thread in batches; the DuckDB file is
opened only while writing, so `mlops monitor` can read it while the server runs. `close()`
drains the queue: a clean stop loses nothing.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from pathlib import Path

import duckdb
import pandas as pd

from trainer import schema

TABLE = "request_log"
COLUMNS = {
    "ts": "TIMESTAMP",
    "request_id": "VARCHAR",
    "version": "VARCHAR",
    "status": "INTEGER",
    "latency_ms": "DOUBLE",
    "error": "VARCHAR",
    **{f.name: ("VARCHAR" if f.is_categorical else "DOUBLE") for f in schema.FEATURES},
    "label": "VARCHAR",
    "probability": "DOUBLE",
}
_STOP = object()


def create_table(con: duckdb.DuckDBPyConnection) -> None:
    columns = ", ".join(f'"{name}" {kind}' for name, kind in COLUMNS.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} ({columns})")


def rows_of(record: dict) -> list[dict]:
    """One row per instance (or one for a failed request), in COLUMNS order."""
    base = {
        "ts": record["ts"],
        "request_id": record["request_id"],
        "version": record.get("version"),
        "status": record["status"],
        "latency_ms": record["latency_ms"],
        "error": record.get("error"),
    }
    instances = record.get("instances") or []
    predictions = record.get("predictions") or []
    if record["status"] != 200 or not predictions:
        return [{**base, **dict.fromkeys(schema.FEATURE_NAMES), "label": None, "probability": None}]
    rows = []
    for instance, prediction in zip(instances, predictions, strict=True):
        features = {name: instance.get(name) for name in schema.FEATURE_NAMES}
        rows.append(
            {
                **base,
                **features,
                "label": prediction["label"],
                "probability": prediction["probability"],
            }
        )
    return rows


def append(path: Path, rows: list[dict]) -> None:
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    for name, kind in COLUMNS.items():
        if kind == "DOUBLE":
            frame[name] = pd.to_numeric(frame[name], errors="coerce")
        elif kind == "VARCHAR":
            frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    frame["ts"] = pd.to_datetime(frame["ts"], unit="s")
    for attempt in range(50):  # another process (the monitor) may hold the file briefly
        try:
            with duckdb.connect(str(path)) as con:
                create_table(con)
                con.register("batch", frame)
                con.execute(f"INSERT INTO {TABLE} SELECT * FROM batch")
                con.unregister("batch")
            return
        except duckdb.IOException:
            time.sleep(0.05 * (attempt + 1))
    raise RuntimeError(f"request log {path} stayed locked; {len(rows)} rows not written")


class RequestLog:
    def __init__(self, path: str | Path, flush_every: float = 0.5, batch: int = 5000) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.queue: queue.Queue = queue.Queue()
        self.flush_every, self.batch = flush_every, batch
        self.written = 0
        self.thread = threading.Thread(target=self._run, name="request-log", daemon=True)
        self.thread.start()

    def record(
        self,
        *,
        status: int,
        latency_ms: float,
        version: str | None = None,
        instances: list | None = None,
        predictions: list | None = None,
        error: str | None = None,
    ) -> None:
        self.queue.put(
            {
                "ts": time.time(),
                "request_id": uuid.uuid4().hex,
                "version": version,
                "status": status,
                "latency_ms": latency_ms,
                "error": error,
                "instances": instances,
                "predictions": predictions,
            }
        )

    def _run(self) -> None:
        pending: list[dict] = []
        deadline = time.monotonic() + self.flush_every
        stop = False
        while not stop:
            timeout = max(0.0, deadline - time.monotonic())
            try:
                item = self.queue.get(timeout=timeout)
                if item is _STOP:
                    stop = True
                else:
                    pending.extend(rows_of(item))
            except queue.Empty:
                pass
            if pending and (stop or len(pending) >= self.batch or time.monotonic() >= deadline):
                append(self.path, pending)
                self.written += len(pending)
                pending = []
            if time.monotonic() >= deadline:
                deadline = time.monotonic() + self.flush_every

    def close(self) -> None:
        """Write everything queued, then stop."""
        self.queue.put(_STOP)
        self.thread.join()
