"""The census rules, written once as SQL (BigQuery's dialect) from the schema.

Every warehouse runs the same rules: BigQuery as written, DuckDB (locally, and in the
simulated BigQuery) after sqlglot transpiles them. The input is a table of raw lines
(`line_number`, `raw`), decoded as BigQuery decodes UTF-8: bytes that are not UTF-8 become
U+FFFD (trainer/lines.py does the same for DuckDB).
Policy (docs/ingest.md): a byte-order mark is removed (the line reader and BigQuery both
end lines at \\n or \\r\\n);
blank lines, `|` comment lines and a header row are skipped; the first rule a line breaks is
its quarantine reason.
"""

from __future__ import annotations

import re
from functools import cache

from kernel.text import EXCERPT  # as the server quotes values; the raw line keeps it all
from trainer import schema

NOT_UTF8 = "not valid UTF-8 text"
# A field is trimmed of spaces (the census format's ", " separators), nothing else: a tab or
# another control character makes it invalid, the same on every engine.


def _lit(text: str) -> str:
    """A BigQuery string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _quoted(expression: str) -> str:
    """SQL building the text `'value'`, as the reasons quote an offending value; a long one
    is cut, with its length said, so a 1 MB field does not make a 1 MB reason."""
    cut = (
        f"IF(LENGTH({expression}) > {EXCERPT}, CONCAT(SUBSTR({expression}, 1, {EXCERPT}), "
        f"\"'... (\", CAST(LENGTH({expression}) AS STRING), ' characters)'), "
        f'CONCAT({expression}, "\'"))'
    )
    return f'CONCAT("\'", {cut})'


# What reads as a number (a finite one, or inf/nan spelled out); the cast decides finiteness.
_NUMBER = r"r'^[+-]?(([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?|(?i:inf|infinity|nan))$'"
_TABLE = re.compile(r"^[`\"]?[A-Za-z_][A-Za-z0-9_.-]*[`\"]?$")


def _checks() -> list[tuple[str, str]]:
    """(condition that breaks a rule, reason), in the order the rules apply, over the
    columns of `_judged`: c<i> the trimmed field, v<i> the same or NULL when missing, x<i> its
    number."""
    n = len(schema.RAW_COLUMNS)
    out = [
        ("STRPOS(raw, '\\uFFFD') > 0", _lit(NOT_UTF8)),
        (f"n != {n}", f"CONCAT('expected {n} fields, got ', CAST(n AS STRING))"),
    ]
    for i, feature in enumerate(schema.FEATURES):
        if feature.is_categorical:
            # one anchored alternation, not IN (...): engines turn a long IN list into a join
            known = "r'^(" + "|".join(re.escape(c) for c in feature.categories) + ")$'"
            out.append(
                (
                    f"v{i} IS NOT NULL AND NOT REGEXP_CONTAINS(v{i}, {known})",
                    f"CONCAT({_lit(feature.name + ': unknown category ')}, {_quoted(f'v{i}')})",
                )
            )
            continue
        out.append(
            (
                f"v{i} IS NOT NULL AND NOT REGEXP_CONTAINS(v{i}, {_NUMBER})",
                f"CONCAT({_lit(feature.name + ': not a number ')}, {_quoted(f'v{i}')})",
            )
        )
        out.append(
            (
                f"v{i} IS NOT NULL AND (x{i} IS NULL OR IS_INF(x{i}) OR IS_NAN(x{i}))",
                f"CONCAT({_lit(feature.name + ': not a finite number ')}, {_quoted(f'v{i}')})",
            )
        )
        if feature.plausible is not None:
            low, high = feature.plausible
            where = f" is outside the plausible range {feature.plausible_text}"
            out.append(
                (
                    f"v{i} IS NOT NULL AND (x{i} < {low!r} OR x{i} > {high!r})",
                    f"CONCAT({_lit(feature.name + ': ')}, {_quoted(f'v{i}')}, {_lit(where)})",
                )
            )
    label = f"c{n - 1}"
    classes = ", ".join(_lit(c) for c in schema.CLASSES)
    out.append(
        (
            f"RTRIM({label}, '.') NOT IN ({classes})",
            f"CONCAT({_lit(schema.LABEL + ': unknown label ')}, {_quoted(label)})",
        )
    )
    return out


def int_range(low: int, high: int) -> str:
    """A regular expression matching exactly the canonical integers low..high (no sign, no
    leading zero): what the fast path accepts without the rules' cast and range check."""
    if not 0 <= low <= high:
        raise ValueError(f"bad range {low}..{high}")
    out = []
    for digits in range(len(str(low)), len(str(high)) + 1):
        a = max(low, 10 ** (digits - 1) if digits > 1 else 0)
        b = min(high, 10**digits - 1)
        if a <= b:
            out += _same_length(str(a), str(b))
    return "(?:" + "|".join(out) + ")"


def _same_length(a: str, b: str) -> list[str]:
    """Patterns for the digit strings from a to b, both of the same length."""
    if a == b:
        return [a]
    rest = len(a) - 1
    if a[0] == b[0]:
        return [a[0] + p for p in _same_length(a[1:], b[1:])]
    if a[1:] == "0" * rest and b[1:] == "9" * rest:
        return [_digits(int(a[0]), int(b[0])) + _any(rest)]
    out = [a[0] + p for p in _same_length(a[1:], "9" * rest)]
    if int(a[0]) + 1 <= int(b[0]) - 1:
        out.append(_digits(int(a[0]) + 1, int(b[0]) - 1) + _any(rest))
    out += [b[0] + p for p in _same_length("0" * rest, b[1:])]
    return out


def _digits(low: int, high: int) -> str:
    return str(low) if low == high else f"[{low}-{high}]"


def _any(count: int) -> str:
    return "" if count == 0 else "[0-9]" if count == 1 else f"[0-9]{{{count}}}"


def fast_pattern() -> str:
    """The whole-line pattern of a row written as the census writes it: fields separated by
    `, `, known categories or `?`, canonical integers within their plausible ranges, a known
    label with at most one trailing dot. Every line it matches, the rules accept with the same
    values (tests/trainer/test_rules.py checks that on fuzzed lines); every other line goes
    through the rules."""
    fields = []
    for feature in schema.FEATURES:
        if feature.is_categorical:
            fields.append("(?:" + "|".join(map(re.escape, (*feature.categories, "?"))) + ")")
        elif feature.plausible and all(float(b).is_integer() for b in feature.plausible):
            fields.append(int_range(int(feature.plausible[0]), int(feature.plausible[1])))
        else:  # no integer bounds: such a field always goes through the rules
            return "(?!)"
    fields.append("(?:" + "|".join(map(re.escape, schema.CLASSES)) + ")[.]?")
    return "^" + ", ".join(fields) + "$"


def staged_sql(lines_table: str) -> str:
    """The fast path over numbered lines: typed columns for every line the fast pattern
    matches (`raw` NULL), the raw line and NULL columns for every other line."""
    _check(lines_table)
    columns = []
    for i, feature in enumerate(schema.FEATURES):
        field = f"fields[SAFE_OFFSET({i})]"
        if feature.is_categorical:
            columns.append(f"NULLIF({field}, '?') AS {feature.name}")
        else:
            columns.append(f"CAST({field} AS FLOAT64) AS {feature.name}")
    columns.append(f"RTRIM(fields[SAFE_OFFSET({len(schema.FEATURES)})], '.') AS {schema.LABEL}")
    return f"""
    SELECT line_number, IF(fast, NULL, raw) AS raw, {", ".join(columns)}
    FROM (
      SELECT line_number, raw, fast, IF(fast, SPLIT(raw, ', '), NULL) AS fields
      FROM (SELECT line_number, raw, REGEXP_CONTAINS(raw, r'{fast_pattern()}') AS fast
            FROM {lines_table}) AS marked
    ) AS split
    """


def slow_lines(staged_table: str) -> str:
    """The lines of a staged table the fast path left to the rules."""
    _check(staged_table)
    return f"SELECT line_number, raw FROM {staged_table} WHERE raw IS NOT NULL"


def judged_from(staged_table: str, slow_judged_table: str) -> str:
    """A staged table and the rules' judgement of its slow lines, as one judged relation."""
    _check(staged_table)
    _check(slow_judged_table)
    return f"""
    SELECT line_number, raw, CAST(NULL AS STRING) AS reason, {_COLUMNS}
    FROM {staged_table} WHERE raw IS NULL
    UNION ALL
    SELECT line_number, raw, reason, {_COLUMNS} FROM {slow_judged_table}
    """


def _judged(raw_table: str) -> str:
    """Each kept line, its reason (NULL: a good row) and its typed columns, in one pass:
    every field is split, trimmed and cast once."""
    _check(raw_table)
    n = len(schema.RAW_COLUMNS)
    header = ",".join(schema.RAW_COLUMNS)
    fields = ", ".join(f"TRIM(fields[SAFE_OFFSET({i})], ' ') AS c{i}" for i in range(n))
    values = ", ".join(f"NULLIF(NULLIF(c{i}, '?'), '') AS v{i}" for i in range(n - 1))
    numbers = ", ".join(
        f"SAFE_CAST(v{i} AS FLOAT64) AS x{i}"
        for i, f in enumerate(schema.FEATURES)
        if not f.is_categorical
    )
    reason = "CASE " + " ".join(f"WHEN {c} THEN {r}" for c, r in _checks()) + " END"
    return f"""
    WITH lines AS (
      SELECT line_number, raw,
             IF(STARTS_WITH(raw, '\\uFEFF'), SUBSTR(raw, 2), raw) AS line
      FROM {raw_table}
    ),
    kept AS (
      SELECT line_number, raw, SPLIT(line, ',') AS fields
      FROM lines
      WHERE NOT (REGEXP_CONTAINS(line, r'^ *$')
                 OR REGEXP_CONTAINS(line, r'^ *[|]')
                 OR (REGEXP_CONTAINS(line, r'^ *{schema.RAW_COLUMNS[0]} *,')
                     AND REPLACE(line, ' ', '') = '{header}'))
    ),
    cells AS (SELECT line_number, raw, ARRAY_LENGTH(fields) AS n, {fields} FROM kept),
    parsed AS (SELECT *, {values}, {numbers} FROM cells)
    SELECT line_number, raw, {reason} AS reason, {_typed_columns()} FROM parsed
    """


def _typed_columns() -> str:
    columns = [
        f"v{i} AS {f.name}" if f.is_categorical else f"x{i} AS {f.name}"
        for i, f in enumerate(schema.FEATURES)
    ]
    columns.append(f"RTRIM(c{len(schema.RAW_COLUMNS) - 1}, '.') AS {schema.LABEL}")
    return ", ".join(columns)


_COLUMNS = ", ".join(schema.RAW_COLUMNS)


@cache
def rules_sql(raw_table: str) -> str:
    """The rules themselves, line by line: every kept line with its number, raw text, reason
    (NULL for a good row) and typed columns."""
    return f"""
    SELECT line_number, raw, reason, {_COLUMNS}
    FROM ({_judged(raw_table)}) AS judged
    """


@cache
def judged_sql(raw_table: str) -> str:
    """The same rows and reasons as rules_sql in one query, most lines by the fast path (raw
    is NULL for those). Warehouses that can hold a staged table run the three steps apart."""
    return f"""
    WITH staged AS ({staged_sql(raw_table)}),
    slow_lines AS ({slow_lines("staged")}),
    slow AS ({rules_sql("slow_lines")})
    {judged_from("staged", "slow")}
    """


def typed_from(judged_table: str) -> str:
    """The good rows of a judged table (judged_sql's result), typed (BigQuery SQL)."""
    _check(judged_table)
    return f"SELECT line_number, {_COLUMNS} FROM {judged_table} WHERE reason IS NULL"


def quarantine_from(judged_table: str) -> str:
    """(line_number, reason, raw) of the rows of a judged table that break a rule."""
    _check(judged_table)
    return f"SELECT line_number, reason, raw FROM {judged_table} WHERE reason IS NOT NULL"


def _check(table: str) -> None:
    if not _TABLE.match(table):  # names come from code; checked before SQL sees them
        raise ValueError(f"bad table name {table!r}")


@cache
def in_dialect(sql: str, dialect: str) -> str:
    """`sql` (BigQuery) for `dialect` ("bigquery" as is, "duckdb" transpiled by sqlglot)."""
    if dialect == "bigquery":
        return sql
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="bigquery")
    if dialect == "duckdb":
        # DuckDB's TRIM(x) removes spaces only, BigQuery's every whitespace: the same meaning
        # as TRIM(x, ' '), and about twice as fast (measured: 0.34 s against 0.74 s for 15
        # fields of 1,000,000 lines).
        for trim in tree.find_all(exp.Trim):
            chars = trim.args.get("expression")
            if isinstance(chars, exp.Literal) and chars.this == " ":
                trim.set("expression", None)
    return tree.sql(dialect=dialect, unsupported_level=sqlglot.ErrorLevel.RAISE)
