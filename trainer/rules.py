"""The census rules, written once as SQL (BigQuery's dialect) from the schema.

Every warehouse runs the same rules: BigQuery as written, DuckDB (locally, and in the
simulated BigQuery) after sqlglot transpiles them. The input is a table of raw lines
(`line_number`, `raw`), decoded as BigQuery decodes UTF-8: bytes that are not UTF-8 become
U+FFFD (trainer/lines.py does the same for DuckDB).
Policy (docs/ingest.md): a byte-order mark and one trailing carriage return are removed;
blank lines, `|` comment lines and a header row are skipped; the first rule a line breaks is
its quarantine reason.
"""

from __future__ import annotations

import re
from functools import cache

from trainer import schema

NOT_UTF8 = "not valid UTF-8 text"
_BLANKS = " \\t"  # what a field is trimmed of (a SQL string literal body)


def _lit(text: str) -> str:
    """A BigQuery string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _quoted(expression: str) -> str:
    """SQL building the text `'value'`, as the reasons quote an offending value."""
    return f'CONCAT("\'", {expression}, "\'")'


def _field(i: int) -> str:
    return f"TRIM(fields[SAFE_OFFSET({i})], '{_BLANKS}')"


# What reads as a number (a finite one, or inf/nan spelled out); the cast decides finiteness.
_NUMBER = r"r'^[+-]?(([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?|(?i:inf|infinity|nan))$'"


def _checks() -> list[tuple[str, str]]:
    """(condition that breaks a rule, reason), in the order the rules apply."""
    n = len(schema.RAW_COLUMNS)
    out = [
        ("STRPOS(raw, '\\uFFFD') > 0", _lit(NOT_UTF8)),
        (
            f"ARRAY_LENGTH(fields) != {n}",
            f"CONCAT('expected {n} fields, got ', CAST(ARRAY_LENGTH(fields) AS STRING))",
        ),
    ]
    for i, feature in enumerate(schema.FEATURES):
        value = _field(i)
        missing = f"{value} IN ('?', '')"
        if feature.is_categorical:
            known = ", ".join(_lit(c) for c in feature.categories)
            out.append(
                (
                    f"NOT {missing} AND {value} NOT IN ({known})",
                    f"CONCAT({_lit(feature.name + ': unknown category ')}, {_quoted(value)})",
                )
            )
        else:
            out.append(
                (
                    f"NOT {missing} AND NOT REGEXP_CONTAINS({value}, {_NUMBER})",
                    f"CONCAT({_lit(feature.name + ': not a number ')}, {_quoted(value)})",
                )
            )
            out.append(
                (
                    f"NOT {missing} AND (SAFE_CAST({value} AS FLOAT64) IS NULL "
                    f"OR IS_INF(SAFE_CAST({value} AS FLOAT64)) "
                    f"OR IS_NAN(SAFE_CAST({value} AS FLOAT64)))",
                    f"CONCAT({_lit(feature.name + ': not a finite number ')}, {_quoted(value)})",
                )
            )
    label = _field(n - 1)
    classes = ", ".join(_lit(c) for c in schema.CLASSES)
    out.append(
        (
            f"RTRIM({label}, '.') NOT IN ({classes})",
            f"CONCAT({_lit(schema.LABEL + ': unknown label ')}, {_quoted(label)})",
        )
    )
    return out


_TABLE = re.compile(r"^[`\"]?[A-Za-z_][A-Za-z0-9_.-]*[`\"]?$")


def _judged(raw_table: str) -> str:
    """Each kept line with its reason (NULL: a good row) and its fields."""
    if not _TABLE.match(raw_table):  # names come from code; checked before SQL sees them
        raise ValueError(f"bad table name {raw_table!r}")
    header = ",".join(schema.RAW_COLUMNS)
    reason = "CASE " + " ".join(f"WHEN {c} THEN {r}" for c, r in _checks()) + " END"
    return f"""
    WITH lines AS (
      SELECT line_number, raw,
             REGEXP_REPLACE(REGEXP_REPLACE(raw, r'^\\x{{FEFF}}', ''), r'\\r$', '') AS line
      FROM {raw_table}
    ),
    split AS (
      SELECT line_number, raw, line, SPLIT(line, ',') AS fields
      FROM lines
      WHERE NOT (TRIM(line, '{_BLANKS}') = ''
                 OR STARTS_WITH(TRIM(line, '{_BLANKS}'), '|')
                 OR REGEXP_REPLACE(line, r'[ \\t]', '') = '{header}')
    )
    SELECT line_number, raw, fields, {reason} AS reason FROM split
    """


def _typed_columns() -> str:
    columns = []
    for i, feature in enumerate(schema.FEATURES):
        value = _field(i)
        if feature.is_categorical:
            expr = f"IF({value} IN ('?', ''), NULL, {value})"
        else:
            expr = f"IF({value} IN ('?', ''), NULL, SAFE_CAST({value} AS FLOAT64))"
        columns.append(f"{expr} AS {feature.name}")
    label = _field(len(schema.RAW_COLUMNS) - 1)
    columns.append(f"RTRIM({label}, '.') AS {schema.LABEL}")
    return ",\n      ".join(columns)


@cache
def judged_sql(raw_table: str) -> str:
    """Every kept line: number, raw text, reason (NULL for a good row), typed columns."""
    return f"""
    SELECT line_number, raw, reason, {_typed_columns()}
    FROM ({_judged(raw_table)}) AS judged
    """


@cache
def typed_sql(raw_table: str) -> str:
    """The good rows, typed, in file order where the warehouse knows it (BigQuery SQL)."""
    return f"""
    SELECT line_number, {_typed_columns()}
    FROM ({_judged(raw_table)}) AS judged
    WHERE reason IS NULL
    """


@cache
def quarantine_sql(raw_table: str) -> str:
    """(line_number, reason, raw) of every line that breaks a rule (BigQuery SQL)."""
    return f"""
    SELECT line_number, reason, raw
    FROM ({_judged(raw_table)}) AS judged
    WHERE reason IS NOT NULL
    """


@cache
def in_dialect(sql: str, dialect: str) -> str:
    """`sql` (BigQuery) for `dialect` ("bigquery" as is, "duckdb" transpiled by sqlglot)."""
    if dialect == "bigquery":
        return sql
    import sqlglot

    return sqlglot.transpile(sql, read="bigquery", write=dialect, unsupported_level="raise")[0]
