"""One line policy everywhere (docs/ingest.md): lines end at \\n only, numbered as an editor
numbers them, bytes that are not UTF-8 quarantine their line; the edge cases today's loader
got wrong, each through the same rules the warehouse runs."""

from __future__ import annotations

import io

import pytest
from samples import GOOD_ROWS

from trainer import lines, loader

A, B, C = (row.encode() for row in GOOD_ROWS)


def numbered(data: bytes, chunk_bytes: int) -> list[tuple[int, str]]:
    out = []
    for batch in lines.batches(io.BytesIO(data), chunk_bytes):
        out += list(zip(*(c.to_pylist() for c in batch.columns), strict=True))
    return out


@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 7, 1 << 20])
def test_lines_end_at_newline_only_whatever_the_chunking(chunk_bytes):
    data = "a\fb\r\nc\rd\n\ne\u2028f\né\nlast".encode() + b"\n\xe9x"
    assert numbered(data, chunk_bytes) == [
        (1, "a\fb"),  # CRLF: the CR belongs to the line ending
        (2, "c\rd"),
        (3, ""),
        (4, "e\u2028f"),
        (5, "é"),  # a two-byte character split across chunks is still one character
        (6, "last"),
        (7, "\ufffdx"),  # not UTF-8: U+FFFD, as BigQuery's UTF-8 load does
    ]


def test_no_final_newline_and_empty_input():
    assert numbered(b"x", 4) == [(1, "x")]
    assert numbered(b"", 4) == []
    assert numbered(b"\n", 4) == [(1, "")]


def load(tmp_path, data: bytes, **kwargs):
    path = tmp_path / "census.csv"
    path.write_bytes(data)
    return loader.load_census(path, max_bad_fraction=1.0, **kwargs)


def test_a_byte_order_mark_is_not_data(tmp_path):
    result = load(tmp_path, b"\xef\xbb\xbf" + A + b"\n" + B + b"\n")
    assert len(result.frame) == 2 and result.bad_rows == []
    assert result.frame.loc[0, "age"] == 39.0


def test_a_form_feed_never_splits_a_row_and_later_lines_keep_their_numbers(tmp_path):
    broken = A.replace(b"Bachelors", b"Bach\x0celors")
    result = load(tmp_path, b"\n".join([B, broken, C, A]) + b"\n")
    assert [(b.line, b.reason) for b in result.bad_rows] == [
        (2, "education: unknown category 'Bach\x0celors'")
    ]
    assert len(result.frame) == 3  # no fragment became a training row
    assert list(result.frame["age"]) == [50.0, 38.0, 39.0]


def test_latin1_bytes_quarantine_their_line_in_every_path(tmp_path):
    latin = A.replace(b"United-States", b"Espa\xf1a")
    result = load(tmp_path, b"\n".join([B, latin, C]) + b"\n")
    (bad,) = result.bad_rows
    assert (bad.line, bad.reason) == (2, "not valid UTF-8 text")
    assert "Espa\ufffda" in bad.raw
    # the pipeline's path (the warehouse reading the same file) gives the same verdict
    from adapters.local.warehouse import DuckDBWarehouse

    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    warehouse.ingest("train", str(tmp_path / "census.csv"))
    assert [(b.line, b.reason) for b in warehouse.quarantined("train")] == [
        (2, "not valid UTF-8 text")
    ]


def test_crlf_header_blank_lines_comments_and_quoted_commas(tmp_path):
    header = b", ".join(c.encode() for c in loader.schema.RAW_COLUMNS)
    quoted = A.replace(b"Adm-clerical", b'"Adm, clerical"')
    data = b"\r\n".join([b"|1x3 Cross validator", header, A, b"", B, quoted, b"  ", C]) + b"\r\n"
    result = load(tmp_path, data)
    assert len(result.frame) == 3
    assert [(b.line, b.reason) for b in result.bad_rows] == [(6, "expected 15 fields, got 16")]
    assert result.bad_rows[0].raw == quoted.decode()  # as it arrived, without its line ending


def test_the_edge_case_file_quarantines_each_case_by_its_line(tmp_path):
    from trainer_edge_cases import edge_case_file

    result = load(tmp_path, edge_case_file())
    assert [(b.line, b.reason) for b in result.bad_rows] == [
        (6, "education: unknown category 'Bach\x0celors'"),
        (7, "not valid UTF-8 text"),
        (8, "expected 15 fields, got 16"),
        (9, "expected 15 fields, got 3"),
        (10, "age: not a number 'thirty-nine'"),
        (11, "workclass: unknown category 'Space-agency'"),
        (12, "income_bracket: unknown label 'maybe'"),
        (13, "capital_gain: not a finite number 'inf'"),
        (14, "age: '-5' is outside the plausible range 0 to 120"),
        (15, "age: '1e308' is outside the plausible range 0 to 120"),
        (16, "hours_per_week: '169' is outside the plausible range 0 to 168"),
    ]
    assert len(result.frame) == 3  # the BOM row, the CRLF row and the last one


def policy(data: bytes) -> list[tuple[int, str]]:
    """The line policy written the slow, obvious way, to hold the fast reader to."""
    parts = data.split(b"\n")
    last = parts.pop()  # after the final newline: a last line without one, or nothing
    ended = [p[:-1] if p.endswith(b"\r") else p for p in parts]  # CRLF: CR is the ending
    return [
        (n, p.decode("utf-8", errors="replace"))
        for n, p in enumerate(ended + ([last] if last else []), 1)
    ]


@pytest.mark.parametrize("seed", range(30))
def test_the_reader_keeps_the_policy_on_random_bytes(seed):
    import random

    rng = random.Random(seed)
    pieces = [b"a", b"bc", b"\n", b"\n", b"\r", b"\r\n", b"\xe9", "é".encode(), b"\x0c", b", "]
    data = b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 400)))
    if seed % 3 == 0:  # most chunks valid UTF-8: the Arrow path, not the fallback
        data = data.replace(b"\xe9", b"e")
    for chunk_bytes in (5, 64, 1 << 20):
        assert numbered(data, chunk_bytes) == policy(data), chunk_bytes
