"""A census file with every edge case the ingest must get right (tests/trainer, simulation)."""

from __future__ import annotations

from samples import GOOD_ROWS

from trainer import schema


def edge_case_file() -> bytes:
    a, b, c = (row.encode() for row in GOOD_ROWS)
    header = b", ".join(name.encode() for name in schema.RAW_COLUMNS)
    lines = [
        b"\xef\xbb\xbf" + a,  # a byte-order mark: not data
        header,  # a header row: skipped
        b"",  # an empty line: skipped
        b"|1x3 Cross validator",  # the test file's comment: skipped
        b + b"\r",  # CRLF
        a.replace(b"Bachelors", b"Bach\x0celors"),  # a form feed: one bad row, not two
        a.replace(b"United-States", b"Espa\xf1a"),  # Latin-1: not valid UTF-8
        a.replace(b"Adm-clerical", b'"Adm, clerical"'),  # a quoted comma: 16 fields
        b"39, State-gov, 77516",  # too few fields
        a.replace(b"39,", b"thirty-nine,", 1),  # not a number
        a.replace(b"State-gov", b"Space-agency"),  # unknown category
        a.replace(b"<=50K", b"maybe"),  # unknown label
        a.replace(b"2174", b"inf"),  # not finite
        a.replace(b"39,", b"-5,", 1),  # not a plausible age
        a.replace(b"39,", b"1e308,", 1),  # finite, and still not an age
        a.replace(b", 40,", b", 169,", 1),  # more hours than a week has
        c,
    ]
    return b"\n".join(lines) + b"\n"
