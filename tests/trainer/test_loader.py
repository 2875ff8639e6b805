import gzip
import http.server
import json
import shutil
import threading
from functools import partial

import numpy as np
import pytest
from samples import GOOD_ROWS

from kernel.errors import DataError
from trainer import loader, schema


def test_bundled_splits_have_the_official_row_counts(census_train, census_test):
    assert len(census_train.frame) == 32_561 and census_train.bad_rows == []
    assert len(census_test.frame) == 16_281 and census_test.bad_rows == []
    assert list(census_train.frame.columns) == list(schema.RAW_COLUMNS)


def test_bundled_data_is_normalised(census_train, census_test):
    train, test = census_train.frame, census_test.frame
    assert set(test[schema.LABEL].astype(str)) == {"<=50K", ">50K"}  # no trailing dots
    assert train["workclass"].isna().sum() == 1_836  # '?' becomes missing
    assert train["occupation"].isna().sum() == 1_843
    assert train["native_country"].isna().sum() == 583
    assert train.loc[0, "workclass"] == "State-gov"  # no leading space
    assert train["age"].dtype == np.float64 and train["age"].min() == 17


def test_parse_normalises_spaces_missing_dots_comments_and_headers(write_csv):
    path = write_csv(["|1x3 Cross validator", ",".join(schema.RAW_COLUMNS), *GOOD_ROWS, ""])
    result = loader.load_census(path)
    frame = result.frame
    assert len(frame) == 3 and result.bad_rows == []
    assert list(frame[schema.LABEL].astype(str)) == ["<=50K", ">50K", "<=50K"]
    assert frame.loc[2, "workclass"] is np.nan or frame["workclass"].isna()[2]
    assert frame.loc[2, "native_country"] is np.nan or frame["native_country"].isna()[2]
    assert frame.loc[1, "hours_per_week"] == 13.0


def test_gzip_input_is_read(tmp_path):
    path = tmp_path / "rows.csv.gz"
    path.write_bytes(gzip.compress(("\n".join(GOOD_ROWS) + "\n").encode()))
    assert len(loader.load_census(path).frame) == 3


BAD_ROWS = [
    "39, State-gov, 77516, Bachelors, 13",  # too few fields
    "abc, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, "
    "Male, 2174, 0, 40, United-States, <=50K",  # unparsable number
    "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, "
    "Male, 2174, 0, 40, United-States, maybe",  # unknown label
    "39, Space-agency, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, "
    "Male, 2174, 0, 40, United-States, <=50K",  # unknown category
    "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, "
    "Male, inf, 0, 40, United-States, <=50K",  # not finite
]


def test_bad_rows_are_quarantined_with_line_and_reason(write_csv, tmp_path):
    path = write_csv([*GOOD_ROWS, *BAD_ROWS] + GOOD_ROWS * 100)
    quarantine = tmp_path / "q" / "bad.jsonl"
    result = loader.load_census(path, max_bad_fraction=0.05, quarantine_path=quarantine)
    assert len(result.frame) == 303
    reasons = [(b.line, b.reason) for b in result.bad_rows]
    assert reasons == [
        (4, "expected 15 fields, got 5"),
        (5, "age: not a number 'abc'"),
        (6, "income_bracket: unknown label 'maybe'"),
        (7, "workclass: unknown category 'Space-agency'"),
        (8, "capital_gain: not a finite number 'inf'"),
    ]
    assert read_quarantine(quarantine) == result.bad_rows
    assert json.loads(quarantine.read_text().splitlines()[0])["raw"] == BAD_ROWS[0]
    assert "5 quarantined" in result.summary()


def test_too_many_bad_rows_fail_with_counts_and_keep_the_quarantine(write_csv, tmp_path):
    path = write_csv([*GOOD_ROWS, *BAD_ROWS])
    quarantine = tmp_path / "bad.jsonl"
    with pytest.raises(
        DataError,
        match=r"5 of 8 rows are malformed \(62\.50%\), above the "
        r"allowed 10\.00%; see .*bad\.jsonl",
    ):
        loader.load_census(path, max_bad_fraction=0.10, quarantine_path=quarantine)
    assert len(read_quarantine(quarantine)) == 5


def test_checksum_mismatch_is_refused(tmp_path, monkeypatch):
    tampered = tmp_path / "adult.data.gz"
    shutil.copy(loader.bundled_path("train"), tampered)
    data = gzip.decompress(tampered.read_bytes()).replace(b"State-gov", b"Local-gov", 1)
    tampered.write_bytes(gzip.compress(data))
    monkeypatch.setattr(loader, "bundled_path", lambda split: tampered)
    with pytest.raises(DataError, match="SHA-256 mismatch: expected 5b0026"):
        loader.load_census(split="train")


def test_expected_checksum_for_a_user_file(write_csv):
    path = write_csv(GOOD_ROWS)
    digest = loader.sha256(path.read_bytes())
    assert loader.load_census(path, expected_sha256=digest).sha256 == digest
    with pytest.raises(DataError, match="SHA-256 mismatch"):
        loader.load_census(path, expected_sha256="0" * 64)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"source": "/nonexistent/adult.csv"}, "census data file not found: /nonexistent"),
        ({"split": "validation"}, "unknown census split 'validation'"),
        ({"max_bad_fraction": 1.5}, "max_bad_fraction must be within 0..1"),
    ],
)
def test_bad_arguments_name_what_is_wrong(kwargs, message):
    with pytest.raises(DataError, match=message):
        loader.load_census(**kwargs)


def test_empty_and_binary_files_are_refused(write_csv, tmp_path):
    with pytest.raises(DataError, match="no data rows"):
        loader.load_census(write_csv(["", "|comment"]))
    binary = tmp_path / "x.bin"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    quarantine = tmp_path / "binary.jsonl"
    with pytest.raises(DataError, match="1 of 1 rows are malformed"):
        loader.load_census(binary, quarantine_path=quarantine)
    assert read_quarantine(quarantine) == [
        loader.BadRow(1, "not valid UTF-8 text", "\ufffd\ufffd\x00garbage")
    ]


def test_url_source_over_loopback_http(write_csv, tmp_path):
    write_csv(GOOD_ROWS, name="served.csv")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/served.csv"
        assert len(loader.load_census(url).frame) == 3
        with pytest.raises(DataError, match="cannot read census data"):
            loader.load_census(f"http://127.0.0.1:{server.server_port}/missing.csv")
    finally:
        server.shutdown()


def read_quarantine(path) -> list[loader.BadRow]:
    return [loader.BadRow(**json.loads(line)) for line in path.read_text().splitlines() if line]
