"""The request log: every response of the local endpoint, as files no reader can lock.

The local stand-in for Vertex AI's request-response logging (docs/reliability.md). Rows are
appended as JSON lines to the open segment with one write before the response returns, so
a killed server loses no answered request; closed segments become Parquet. Readers query
the folder through an in-memory DuckDB (`reader`), so the monitor reads while the server
writes, and the writer never waits for a reader.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import queue
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import duckdb
import orjson
import pandas as pd

from promotion.domain import statistics
from promotion.ports import CountRow
from trainer import schema
from trainer.rules import in_dialect

TABLE = "request_log"
COLUMNS = {
    "ts": "TIMESTAMP",
    "request_id": "VARCHAR",
    "instance": "INTEGER",  # the row's place in its request: a request is its row 0
    "version": "VARCHAR",
    "status": "INTEGER",
    "latency_ms": "DOUBLE",
    "error": "VARCHAR",
    **{f.name: ("VARCHAR" if f.is_categorical else "DOUBLE") for f in schema.FEATURES},
    "label": "VARCHAR",
    "probability": "DOUBLE",
}
# JSON lines carry the time as seconds since the epoch (UTC); the reader makes it a TIMESTAMP
_JSON_COLUMNS = {**COLUMNS, "ts": "DOUBLE"}
SEGMENT_ROWS = 20_000
SEGMENT_SECONDS = 10.0
BACKLOG_LIMIT = 100_000
RETRY_SECONDS = 1.0  # after a failed write, how long before the next try (one file a try)
GRACE_SECONDS = 60.0  # how long a compacted JSON segment stays for readers that listed it
READER_MEMORY = "512MB"  # a reader's DuckDB memory; queries spill past it (reader_config)
COMPACTOR_NICE = 10  # the compactor thread's priority below the requests' (Linux)


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
        empty = dict.fromkeys(schema.FEATURE_NAMES)
        return [{**base, "instance": 0, **empty, "label": None, "probability": None}]
    rows = []
    for index, (instance, prediction) in enumerate(zip(instances, predictions, strict=True)):
        features = {name: instance.get(name) for name in schema.FEATURE_NAMES}
        rows.append(
            {
                **base,
                "instance": index,
                **features,
                "label": prediction["label"],
                "probability": prediction["probability"],
            }
        )
    return rows


def _lines(rows: list[dict]) -> bytes:
    return b"".join(orjson.dumps(row, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n" for row in rows)


class RequestLog:
    """The writer: thread-safe, one `write` per response, segments rotated and compacted."""

    def __init__(
        self,
        folder: str | Path,
        *,
        segment_rows: int = SEGMENT_ROWS,
        segment_seconds: float = SEGMENT_SECONDS,
        backlog_limit: int = BACKLOG_LIMIT,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self.folder = Path(folder)
        self.retry_seconds = retry_seconds
        self._retry_at = 0.0
        self.dropped = 0  # rows not even kept: the backlog was full (refusals' own rows)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.segment_rows, self.segment_seconds = segment_rows, segment_seconds
        self.backlog_limit = backlog_limit
        self.lock = threading.Lock()
        self.backlog: deque[bytes] = deque()  # encoded rows a failed write left behind
        self.backlog_rows = 0
        self.failure: str | None = None
        self.written = 0
        self._fd: int | None = None
        self._segment: Path | None = None
        self._segment_rows = 0
        self._opened = 0.0
        self._closed: queue.Queue = queue.Queue()
        self._compactor = threading.Thread(target=self._compact_closed, daemon=True)
        self._compactor.start()
        for leftover in sorted(self.folder.glob("*.jsonl")):  # a previous server's segments
            if not leftover.with_suffix(".parquet").exists():
                self._closed.put((leftover, None))

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
        """Append the rows of one response; returns once they are in the file (or, when
        the file cannot be written, in the bounded backlog)."""
        rows = rows_of(
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
        data = _lines(rows)
        with self.lock:
            # predictions stop at the limit (refusal); the refusals' own rows are kept up to
            # twice it, then counted and dropped: the backlog's memory is bounded
            if self.backlog_rows >= 2 * self.backlog_limit:
                self._flush_backlog()
                if self.backlog_rows >= 2 * self.backlog_limit:
                    self.dropped += len(rows)
                    return
            self.backlog.append(data)
            self.backlog_rows += len(rows)
            self._flush_backlog()

    def refusal(self) -> str | None:
        """Why a prediction must be refused now: the backlog of rows that could not be
        written is full, so the prediction could not be recorded (docs/reliability.md)."""
        if self.backlog_rows >= self.backlog_limit:
            with self.lock:  # the disk may have room again
                self._flush_backlog(retry=True)
        if self.backlog_rows < self.backlog_limit:
            return None
        return (
            f"request log full: {self.backlog_rows:,} rows not written "
            f"({self.failure or 'unknown error'})"
        )

    def problems(self) -> list[str]:
        """What health should report: a failing write and the rows waiting for it."""
        if not self.failure and not self.backlog_rows:
            return []
        dropped = f"; {self.dropped:,} rows dropped with the backlog full" if self.dropped else ""
        return [
            f"request log: {self.backlog_rows:,} rows waiting to be written "
            f"(limit {self.backlog_limit:,}){dropped}; last error: {self.failure}"
        ]

    @property
    def lost(self) -> int:
        """Rows that never reached the file: still waiting, or dropped."""
        return self.backlog_rows + self.dropped

    def _flush_backlog(self, retry: bool = False) -> None:
        if self.failure and not retry and time.monotonic() < self._retry_at:
            return  # the disk was full a moment ago: one try (and one file) a retry period
        while self.backlog:
            data = self.backlog[0]
            try:
                fd = self._open_segment()
                done = os.write(fd, data)
            except OSError as exc:
                self._failed(f"{type(exc).__name__}: {exc}")
                return
            if done < len(data):  # a short write: only the whole lines that made it count
                whole = data.rfind(b"\n", 0, done) + 1
                self._wrote(data[:whole].count(b"\n"))
                self.backlog[0] = data[whole:]
                self._failed(f"short write: {done:,} of {len(data):,} bytes (disk full?)")
                return
            self.backlog.popleft()
            self._wrote(data.count(b"\n"))
        self.failure = None
        if self._segment_rows >= self.segment_rows or (
            self._fd is not None and time.monotonic() - self._opened >= self.segment_seconds
        ):
            self._close_segment()

    def _wrote(self, count: int) -> None:
        self.backlog_rows -= count
        self.written += count
        self._segment_rows += count

    def _failed(self, why: str) -> None:
        self.failure = why
        self._retry_at = time.monotonic() + self.retry_seconds
        self._abandon_segment()

    def _open_segment(self) -> int:
        if self._fd is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.jsonl"
            self._segment = self.folder / name
            self._fd = os.open(self._segment, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            # held while the segment is open: another server's compactor leaves it alone
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._segment_rows, self._opened = 0, time.monotonic()
        return self._fd

    def _close_segment(self) -> None:
        """Hand the segment to the compactor, which fsyncs and closes it: an fsync (tens of
        milliseconds on a busy disk) never runs on a request's path."""
        if self._fd is None:
            return
        fd, segment = self._fd, self._segment
        self._fd = self._segment = None
        self._closed.put((segment, fd))

    def _abandon_segment(self) -> None:
        """After a failed write: close the descriptor; a file holding whole rows goes to the
        compactor (a torn last line reads as nothing), one holding none is removed (its
        rows wait in the backlog, whole)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            if self._segment is not None:
                if self._segment_rows:
                    self._closed.put((self._segment, None))
                else:
                    self._segment.unlink(missing_ok=True)
            self._fd = self._segment = None

    def _compact_closed(self) -> None:
        """The background thread: fsync and close each closed segment, compact it. It runs
        at a lower priority with one DuckDB thread, so that a compaction (a few hundred ms
        of CPU per 20,000 rows) takes the cores the requests leave idle."""
        with contextlib.suppress(OSError, AttributeError):  # Linux: a thread's own nice
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), COMPACTOR_NICE)
        while True:
            try:
                closed = self._closed.get(timeout=GRACE_SECONDS / 4)
            except queue.Empty:
                closed = False
            if closed is None:
                return
            segment, fd = closed or (None, None)
            if fd is not None:  # a segment this writer closed: make it durable
                try:
                    os.fsync(fd)
                except OSError:
                    pass  # its rows are in the page cache: as durable as an unclosed segment
                finally:
                    os.close(fd)
            with contextlib.suppress(Exception):  # a segment left as JSON is still read
                if segment and not _in_use(segment):
                    compact(segment)
                remove_compacted(self.folder)

    def close(self) -> None:
        """Write what can be written, fsync, compact the closed segments, stop; `lost` says
        how many rows never reached the file."""
        with self.lock:
            self._flush_backlog(retry=True)
            with contextlib.suppress(OSError):
                self._close_segment()
        self._closed.put(None)
        self._compactor.join()


def _in_use(segment: Path) -> bool:
    """Whether a live writer (this server or another) still has the segment open."""
    try:
        fd = os.open(segment, os.O_RDONLY)
    except FileNotFoundError:
        return True  # already compacted by someone else
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def compact(segment: Path) -> Path:
    """A closed JSON-lines segment as Parquet (written aside, then renamed). The JSON file
    stays for GRACE_SECONDS: a reader that listed it before the Parquet file appeared can
    still read it (readers prefer the Parquet file when both exist)."""
    target = segment.with_suffix(".parquet")
    aside = segment.with_suffix(".parquet.tmp")
    with duckdb.connect(config={"threads": 1}) as con:  # one core; the other serves
        con.execute(f"COPY ({_json_select([segment])}) TO '{_literal(aside)}' (FORMAT parquet)")
    os.replace(aside, target)
    return target


def remove_compacted(folder: Path, grace: float = GRACE_SECONDS) -> None:
    """Delete JSON segments whose Parquet copy is older than `grace` seconds."""
    now = time.time()
    for parquet in folder.glob("*.parquet"):
        segment = parquet.with_suffix(".jsonl")
        if segment.exists() and now - parquet.stat().st_mtime >= grace:
            segment.unlink(missing_ok=True)


def _literal(path: Path) -> str:
    return str(path).replace("'", "''")


def _json_select(files: list[Path]) -> str:
    listed = ", ".join(f"'{_literal(f)}'" for f in files)
    columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in _JSON_COLUMNS.items()) + "}"
    names = ", ".join(f'"{k}"' for k in COLUMNS if k != "ts")
    # a torn last line (a crash mid-write) reads as NULLs: skipped, not an error
    return (
        f"SELECT make_timestamp(CAST(round(ts * 1e6) AS BIGINT)) AS ts, {names} "
        f"FROM read_json([{listed}], format = 'newline_delimited', columns = {columns}, "
        "ignore_errors = true) WHERE ts IS NOT NULL AND status IS NOT NULL"
    )


def segment_problem(path: Path) -> str | None:
    """Why a Parquet segment cannot be read (cut short by a full disk, emptied by a hand),
    checked from its first and last bytes; None when its frame is whole."""
    try:
        size = path.stat().st_size
        if size < 12:
            return f"{size} bytes, too short to be Parquet"
        with open(path, "rb") as handle:
            head = handle.read(4)
            handle.seek(-8, os.SEEK_END)
            tail = handle.read(8)
    except OSError as exc:
        return f"unreadable: {exc.strerror}"
    if head != b"PAR1" or tail[4:] != b"PAR1":
        return "no Parquet magic bytes at its start or end (cut short?)"
    if int.from_bytes(tail[:4], "little") + 12 > size:
        return "its footer says it is longer than the file"
    return None


def damaged_segments(folder: str | Path) -> dict[Path, str]:
    """{segment: why} for each Parquet segment every reader leaves out (one damaged file
    never blinds the monitor to the others; its JSON original is read while it is kept)."""
    found = {}
    for path in sorted(Path(folder).glob("*.parquet")):
        problem = segment_problem(path)
        if problem:
            found[path] = problem
    return found


def _view_sql(folder: Path) -> str:
    damaged = damaged_segments(folder)
    parquet = [p for p in sorted(folder.glob("*.parquet")) if p not in damaged]
    done = {p.stem for p in parquet}
    jsonl = [p for p in sorted(folder.glob("*.jsonl")) if p.stem not in done]
    parts = []
    if parquet:
        listed = ", ".join(f"'{_literal(p)}'" for p in parquet)
        # by name: segments written before a column was added read it as NULL
        parts.append(f"SELECT * FROM read_parquet([{listed}], union_by_name = true)")
    if jsonl:
        parts.append(_json_select(jsonl))
    if not parts:
        columns = ", ".join(f'CAST(NULL AS {kind}) AS "{name}"' for name, kind in COLUMNS.items())
        return f"SELECT {columns} WHERE false"
    return " UNION ALL BY NAME ".join(parts)


def reader_config(
    env: Mapping[str, str] | None = None,
) -> dict[str, str | bool | int | float | list[str]]:
    """DuckDB's settings for a reader: a memory limit (MLOPS_LOG_READER_MEMORY, 512MB), past
    which a query's hash tables and sorts spill to a temporary folder of its own that
    DuckDB removes on close. Without it DuckDB may take 80% of the machine's memory: the
    canary's per-version figures over 10M rows peaked at 1.3 GB (bench/reader.py)."""
    limit = (os.environ if env is None else env).get("MLOPS_LOG_READER_MEMORY") or READER_MEMORY
    spill = Path(tempfile.gettempdir()) / f"census-mlops-log-reader-{uuid.uuid4().hex[:12]}"
    return {"memory_limit": limit, "temp_directory": str(spill)}


def reader(folder: str | Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with a `request_log` view over the folder's segments as listed
    now, read in place (a query reads only the columns and row groups it needs, nothing is
    copied). A JSON segment compacted after the listing stays GRACE_SECONDS for such a view;
    one compacted while the view is made is picked up on the retry."""
    folder = Path(folder)
    con = duckdb.connect(config=reader_config())
    for attempt in range(5):
        try:
            con.execute(f"CREATE OR REPLACE VIEW {TABLE} AS {_view_sql(folder)}")
            return con
        except duckdb.IOException:
            if attempt == 4:
                raise
            time.sleep(0.05)
    return con


def exists(folder: str | Path) -> bool:
    """Whether anything was ever logged in the folder."""
    folder = Path(folder)
    return any(folder.glob("*.jsonl")) or any(folder.glob("*.parquet"))


def append(folder: str | Path, rows: list[dict] | pd.DataFrame) -> Path:
    """Rows written as one closed Parquet segment (test fixtures and benchmarks); `ts` in
    seconds since the epoch, or datetimes."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    for name, kind in COLUMNS.items():
        if kind == "DOUBLE":
            frame[name] = pd.to_numeric(frame[name], errors="coerce")
        elif kind == "INTEGER":
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("Int64")
        elif kind == "VARCHAR":
            frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    numeric = pd.api.types.is_numeric_dtype(frame["ts"])
    frame["ts"] = pd.to_datetime(frame["ts"], unit="s") if numeric else pd.to_datetime(frame["ts"])
    target = folder / f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.parquet"
    casts = ", ".join(f'CAST("{name}" AS {kind}) AS "{name}"' for name, kind in COLUMNS.items())
    with duckdb.connect() as con:
        con.register("batch", frame)
        con.execute(f"COPY (SELECT {casts} FROM batch) TO '{_literal(target)}' (FORMAT parquet)")
    return target


class LocalLoggedRequests:
    """The request log folder as the monitor reads it (promotion.ports.LoggedRequests)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def __str__(self) -> str:
        return str(self.folder)

    def exists(self) -> bool:
        return exists(self.folder)

    def problems(self) -> list[str]:
        """The segments the readers leave out, each with why and what to do."""
        return [
            f"{path}: damaged request-log segment left out ({why}); move it aside "
            f"(mv '{path}' '{path}.damaged') once looked at"
            for path, why in damaged_segments(self.folder).items()
        ]

    def value_counts(self, start: datetime, end: datetime) -> list[CountRow]:
        """One SQL query per window: the value-count query the warehouse runs over
        census_train (statistics.value_counts_sql), here over the successful requests."""
        where = "WHERE status = 200 AND ts >= @start AND ts < @end"
        sql = in_dialect(statistics.value_counts_sql(TABLE, where), "duckdb")
        with reader(self.folder) as con:
            rows = con.execute(sql, {"start": start, "end": end}).fetchall()
        return [(f, t, n, int(c)) for f, t, n, c in rows]
