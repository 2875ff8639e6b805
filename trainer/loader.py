"""One loader for every census source: the bundled copy, a CSV path or URL, a warehouse table.

The raw UCI files need normalising (spaces after commas, `?` for missing, a comment line at
the top of adult.test, labels ending in a dot). Malformed rows are never dropped silently:
each goes to the quarantine with its line number and reason, and too many fail the load.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from kernel import gcp
from kernel import uris as gcs
from kernel.atomic import write_text
from kernel.errors import DataError
from trainer import schema
from trainer.options import DEFAULT_MAX_BAD_FRACTION

BUNDLED = {"train": "adult.data", "test": "adult.test"}
_MISSING = {"?", ""}


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str
    raw: str


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
            data = Path(text.removeprefix("file://")).read_bytes()
    except FileNotFoundError:
        raise DataError(f"census data file not found: {text}") from None
    except OSError as exc:
        raise DataError(f"cannot read census data {text}: {exc}") from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise DataError(f"census data {text} is not valid gzip: {exc}") from None
    return data


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


def parse_lines(lines: Iterable[str]) -> tuple[pd.DataFrame, list[BadRow]]:
    """Parse raw census lines into a typed frame plus the rows that could not be parsed."""
    columns: dict[str, list] = {name: [] for name in schema.RAW_COLUMNS}
    bad: list[BadRow] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        stripped = line.strip()
        if not stripped or stripped.startswith("|"):
            continue  # blank lines and the test file's '|1x3 Cross validator' comment
        fields = [f.strip() for f in line.split(",")]
        if fields == list(schema.RAW_COLUMNS):
            continue  # a header row, as warehouse exports write one
        values, reason = _parse_fields(fields)
        if reason:
            bad.append(BadRow(number, reason, line))
            continue
        for name, value in zip(schema.RAW_COLUMNS, values, strict=True):
            columns[name].append(value)
    return _to_frame(columns), bad


def _parse_fields(fields: list[str]) -> tuple[list, str | None]:
    if len(fields) != len(schema.RAW_COLUMNS):
        return [], f"expected {len(schema.RAW_COLUMNS)} fields, got {len(fields)}"
    values: list = []
    for feature, text in zip(schema.FEATURES, fields, strict=False):
        if text in _MISSING:
            values.append(None)
        elif feature.is_categorical:
            if feature.code_of(text) is None:
                return [], f"{feature.name}: unknown category {text!r}"
            values.append(text)
        else:
            try:
                number = float(text)
            except ValueError:
                return [], f"{feature.name}: not a number {text!r}"
            if not math.isfinite(number):
                return [], f"{feature.name}: not a finite number {text!r}"
            values.append(number)
    label = fields[-1].rstrip(".")
    if label not in schema.CLASSES:
        return [], f"{schema.LABEL}: unknown label {fields[-1]!r}"
    values.append(label)
    return values, None


def _to_frame(columns: dict[str, list]) -> pd.DataFrame:
    data: dict[str, object] = {}
    for feature in schema.FEATURES:
        values = columns[feature.name]
        if feature.is_categorical:
            data[feature.name] = pd.Categorical(values, categories=list(feature.categories))
        else:
            data[feature.name] = np.array(
                [np.nan if v is None else v for v in values], dtype=np.float64
            )
    data[schema.LABEL] = pd.Categorical(columns[schema.LABEL], categories=list(schema.CLASSES))
    return pd.DataFrame(data)


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
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{name}: not UTF-8 text ({exc})") from None
    return from_lines(
        text.splitlines(),
        name=name,
        sha256_digest=digest,
        max_bad_fraction=max_bad_fraction,
        quarantine_path=quarantine_path,
    )


def from_lines(
    lines: list[str],
    *,
    name: str,
    sha256_digest: str,
    max_bad_fraction: float = DEFAULT_MAX_BAD_FRACTION,
    quarantine_path: str | Path | None = None,
) -> LoadResult:
    """Parse lines from any source (a file, a warehouse table); quarantine and judge them."""
    if not 0.0 <= max_bad_fraction <= 1.0:
        raise DataError(f"max_bad_fraction must be within 0..1, got {max_bad_fraction}")
    frame, bad = parse_lines(lines)
    result = LoadResult(frame=frame, source=name, sha256=sha256_digest, bad_rows=bad)
    if quarantine_path is not None and bad:
        write_quarantine(quarantine_path, bad)
    if result.rows_total == 0:
        raise DataError(f"{name}: no data rows")
    if result.bad_fraction > max_bad_fraction:
        where = f"; see {quarantine_path}" if quarantine_path and bad else ""
        raise DataError(
            f"{name}: {len(bad):,} of {result.rows_total:,} rows are malformed "
            f"({result.bad_fraction:.2%}), above the allowed {max_bad_fraction:.2%}{where}"
        )
    return result


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
