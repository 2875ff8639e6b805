"""One loader for every census source: the bundled copy, a CSV path or URL, a warehouse table.

The raw UCI files need normalising (spaces after commas, `?` for missing, a comment line at
the top of adult.test, labels ending in a dot). The rules are the warehouse's
(trainer/rules.py, run here by an in-memory DuckDB), so a file gives the same rows and the
same quarantine here as in the pipeline. Malformed rows are never dropped silently: each
goes to the quarantine with its line number and reason, and too many fail the load.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import urllib.request
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from kernel import gcp
from kernel import uris as gcs
from kernel.atomic import write_text
from kernel.errors import DataError
from trainer import lines as line_stream
from trainer import rules, schema
from trainer.options import DEFAULT_MAX_BAD_FRACTION
from trainer.records import BadRow

BUNDLED = {"train": "adult.data", "test": "adult.test"}


@dataclass
class LoadResult:
    frame: pd.DataFrame
    source: str
    sha256: str
    bad_rows: list[BadRow] = field(default_factory=list)

    @property
    def rows_total(self) -> int:
        return len(self.frame) + len(self.bad_rows)

    @property
    def bad_fraction(self) -> float:
        return len(self.bad_rows) / self.rows_total if self.rows_total else 0.0

    def provenance(self) -> dict:
        return {
            "source": self.source,
            "sha256": self.sha256,
            "rows": len(self.frame),
            "quarantined": len(self.bad_rows),
        }

    def summary(self) -> str:
        return (
            f"{self.source}: {len(self.frame):,} rows loaded, {len(self.bad_rows):,} quarantined "
            f"({self.bad_fraction:.2%})"
        )


def bundled_path(split: str) -> Path:
    if split not in BUNDLED:
        raise DataError(f"unknown census split {split!r}; expected one of {sorted(BUNDLED)}")
    return Path(str(resources.files("trainer") / "census_data" / f"{BUNDLED[split]}.gz"))


def bundled_checksums() -> dict[str, str]:
    text = (resources.files("trainer") / "census_data" / "SHA256SUMS").read_text()
    return {name: digest for digest, name in (line.split() for line in text.splitlines() if line)}


def read_source(source: str | Path) -> bytes:
    """Raw bytes of a local path (gzip or plain), a `bundled:<split>`, gs:// or http(s) URL."""
    text = str(source)
    if text.startswith("bundled:"):
        return _verified_bundle(text.removeprefix("bundled:"))
    try:
        if text.startswith("gs://"):
            data = _read_gcs(text)
        elif text.startswith(("http://", "https://")):
            with urllib.request.urlopen(text, timeout=60) as response:  # noqa: S310 - scheme checked
                data = response.read()
        else:
            path = Path(text.removeprefix("file://"))
            if path.is_dir():  # a warehouse's export: shards with a header each, in name order
                parts = sorted(path.glob("*.csv"))
                if not parts:
                    raise DataError(f"{text}: a folder with no .csv shards")
                return b"".join(_with_newline(_gunzipped(p.read_bytes(), p)) for p in parts)
            data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"census data file not found: {text}") from None
    except OSError as exc:
        raise DataError(f"cannot read census data {text}: {exc}") from None
    return _gunzipped(data, text)


def _gunzipped(data: bytes, name: str | Path) -> bytes:
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError) as exc:
        raise DataError(f"census data {name} is not valid gzip: {exc}") from None


def _with_newline(data: bytes) -> bytes:
    return data if not data or data.endswith(b"\n") else data + b"\n"


def _read_gcs(uri: str) -> bytes:
    from google.cloud import storage  # only where data really lives in Cloud Storage

    bucket, name = gcs.split(uri)
    client = storage.Client(client_options=gcp.client_options("storage"))
    return client.bucket(bucket).blob(name).download_as_bytes()


def _verified_bundle(split: str) -> bytes:
    path = bundled_path(split)
    data = read_source(path)
    expected = bundled_checksums()[BUNDLED[split]]
    if sha256(data) != expected:
        raise DataError(
            f"{path}: SHA-256 mismatch: expected {expected}, got {sha256(data)}; "
            "the file is corrupt or not the one recorded"
        )
    return data


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse(lines: pa.RecordBatchReader) -> tuple[pd.DataFrame, list[BadRow]]:
    """Numbered raw lines (trainer.lines) through the census rules (trainer.rules), in DuckDB:
    the typed frame in file order, and the lines that break a rule."""
    import duckdb

    with duckdb.connect() as con:
        con.register("raw_lines", lines)
        sql = rules.in_dialect(rules.judged_sql("raw_lines"), "duckdb") + " ORDER BY line_number"
        judged = con.execute(sql).fetch_df()
    bad_mask = judged["reason"].notna()
    bad = [
        BadRow(int(n), str(r), str(raw))
        for n, r, raw in judged.loc[bad_mask, ["line_number", "reason", "raw"]].itertuples(
            index=False
        )
    ]
    return to_frame(judged.loc[~bad_mask]), bad


def to_frame(typed: pd.DataFrame) -> pd.DataFrame:
    """The warehouse's typed columns as the model's frame: categoricals in schema order."""
    data: dict[str, object] = {}
    for feature in schema.FEATURES:
        values = typed[feature.name].to_numpy()
        if feature.is_categorical:
            data[feature.name] = pd.Categorical(values, categories=list(feature.categories))
        else:
            data[feature.name] = values.astype(np.float64)
    data[schema.LABEL] = pd.Categorical(
        typed[schema.LABEL].to_numpy(), categories=list(schema.CLASSES)
    )
    return pd.DataFrame(data).reset_index(drop=True)


def load_census(
    source: str | Path | None = None,
    *,
    split: str = "train",
    expected_sha256: str | None = None,
    max_bad_fraction: float = DEFAULT_MAX_BAD_FRACTION,
    quarantine_path: str | Path | None = None,
) -> LoadResult:
    """Load the bundled split (source None) or a CSV path/URL, verifying checksums.

    Bad rows go to `quarantine_path` (JSON lines) when given; more than `max_bad_fraction`
    of them fails the load after the quarantine is written, so the evidence is kept.
    """
    if not 0.0 <= max_bad_fraction <= 1.0:
        raise DataError(f"max_bad_fraction must be within 0..1, got {max_bad_fraction}")
    if source is None:
        source = f"bundled:{split}"
    name = str(bundled_path(split)) if source == f"bundled:{split}" else str(source)
    data = read_source(source)  # a bundled split is verified against SHA256SUMS here
    digest = sha256(data)
    if expected_sha256 and digest != expected_sha256:
        raise DataError(
            f"{name}: SHA-256 mismatch: expected {expected_sha256}, got {digest}; "
            "the file is corrupt or not the one recorded"
        )
    frame, bad = parse(line_stream.from_bytes(data))
    return judge(frame, bad, name, digest, max_bad_fraction, quarantine_path)


def judge(
    frame: pd.DataFrame,
    bad: list[BadRow],
    name: str,
    digest: str,
    max_bad_fraction: float,
    quarantine_path: str | Path | None,
) -> LoadResult:
    """Keep the evidence, then fail a load with no rows or too many bad ones."""
    result = LoadResult(frame=frame, source=name, sha256=digest, bad_rows=bad)
    if quarantine_path is not None and bad:
        write_quarantine(quarantine_path, bad)
    check_counts(name, len(frame), len(bad), max_bad_fraction, quarantine_path)
    return result


def check_counts(
    name: str, good: int, bad: int, max_bad_fraction: float, quarantine_path=None
) -> None:
    """Fail a load with no rows, or with more bad rows than allowed (counts from anywhere:
    a frame here, a warehouse's query there)."""
    total = good + bad
    if total == 0:
        raise DataError(f"{name}: no data rows")
    if bad / total > max_bad_fraction:
        where = f"; see {quarantine_path}" if quarantine_path and bad else ""
        raise DataError(
            f"{name}: {bad:,} of {total:,} rows are malformed "
            f"({bad / total:.2%}), above the allowed {max_bad_fraction:.2%}{where}"
        )


def write_quarantine(path: str | Path, bad: list[BadRow]) -> Path:
    lines = (json.dumps({"line": b.line, "reason": b.reason, "raw": b.raw}) for b in bad)
    return write_text(path, "\n".join(lines) + "\n")


def to_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a loaded frame back in the census format (header, `?` for missing), atomically.

    Steps hand data to each other this way, and read it back with `load_census`, so every
    hop goes through the same parser.
    """
    out = frame.copy()
    for feature in schema.FEATURES:
        if not feature.is_categorical:
            out[feature.name] = out[feature.name].map(_number)
    text = out.to_csv(index=False, na_rep="?")
    return write_text(path, text)


def _number(value: float) -> str:
    if value != value:  # NaN
        return "?"
    return str(int(value)) if float(value).is_integer() else repr(float(value))
