"""The fast path is an accelerator, not a second set of rules: every line it types, the rules
type the same way, and every other line reaches the rules (docs/ingest.md)."""

from __future__ import annotations

import dataclasses
import math
import re

import duckdb
import pyarrow as pa
import pytest
from samples import GOOD_ROWS, fuzzed_lines

from trainer import lines, rules, schema


@pytest.mark.parametrize(("low", "high"), [(0, 0), (0, 9), (1, 16), (0, 120), (0, 168), (37, 4321)])
def test_int_range_matches_exactly_the_canonical_integers_in_range(low, high):
    pattern = re.compile(rules.int_range(low, high))
    for n in range(0, 5000):
        assert bool(pattern.fullmatch(str(n))) == (low <= n <= high), n
    for text in ["", "-1", "+5", "05", "00", "1.0", "1e2", " 7", "1_0"]:
        assert not pattern.fullmatch(text), text


def test_int_range_at_the_schema_bounds():
    pattern = re.compile(rules.int_range(0, 100_000_000))
    for n in [0, 9, 10, 99_999_999, 100_000_000]:
        assert pattern.fullmatch(str(n))
    for n in [100_000_001, 199_999_999, 999_999_999, 1_000_000_000]:
        assert not pattern.fullmatch(str(n))
    with pytest.raises(ValueError, match="bad range"):
        rules.int_range(5, 4)


def run(sql_of, text_lines: list[str]) -> dict[int, tuple]:
    table = pa.table(
        {"line_number": list(range(1, len(text_lines) + 1)), "raw": text_lines},
        schema=lines.SCHEMA,
    )
    with duckdb.connect() as con:
        con.register("raw_lines", table)
        sql = rules.in_dialect(sql_of("raw_lines"), "duckdb")
        rows = con.execute(sql).fetchall()
    # (reason, raw for a bad line, typed values); NaN compares equal to itself here
    return {
        row[0]: (row[2], row[1] if row[2] else None, tuple(_same(v) for v in row[3:]))
        for row in rows
    }


def _same(value):
    return "nan" if isinstance(value, float) and math.isnan(value) else value


def test_fast_path_and_rules_agree_on_every_fuzzed_line():
    text_lines = fuzzed_lines(4000, seed=7) + GOOD_ROWS
    fast = run(rules.judged_sql, text_lines)
    assert fast == run(rules.rules_sql, text_lines)
    # and the fuzz exercised both halves: most lines fast, plenty left to the rules
    typed_fast = sum(bool(re.search(rules.fast_pattern(), line)) for line in text_lines)
    assert 1000 < typed_fast < len(text_lines) - 1000
    assert sum(1 for reason, _, _ in fast.values() if reason) > 500


def test_the_fast_path_takes_the_census_format_itself():
    pattern = re.compile(rules.fast_pattern())
    assert all(pattern.search(row) for row in GOOD_ROWS)
    for row in [GOOD_ROWS[0] + " ", GOOD_ROWS[0].replace(", ", ",", 1), "\ufeff" + GOOD_ROWS[0]]:
        assert not pattern.search(row)


def test_a_feature_without_integer_bounds_sends_every_line_to_the_rules(monkeypatch):
    age = schema.FEATURES[0]
    unbounded = dataclasses.replace(age, plausible=(0, 120.5))
    monkeypatch.setattr(schema, "FEATURES", (unbounded, *schema.FEATURES[1:]))
    assert rules.fast_pattern() == "(?!)"


def test_a_reason_quotes_a_long_value_cut_and_the_raw_line_keeps_it_whole():
    row = GOOD_ROWS[0].replace("State-gov", "x" * 1_000_000)
    ((reason, raw, _),) = run(rules.judged_sql, [row]).values()
    assert reason == f"workclass: unknown category '{'x' * 80}'... (1000000 characters)"
    assert raw == row
