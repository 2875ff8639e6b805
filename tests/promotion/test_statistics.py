"""The validate step's checks and baseline, from the warehouse's value counts."""

import json

import pytest

from adapters.local.warehouse import DuckDBWarehouse
from kernel.errors import DataError
from promotion.domain import statistics
from promotion.steps import staging as steps
from trainer import schema


def counts(rows: int, **override) -> list:
    """Value counts of `rows` plain rows; `override` replaces a feature's counts."""
    out = []
    for f in schema.FEATURES:
        if f.name in override:
            out += override[f.name]
        elif f.is_categorical:
            out.append((f.name, f.categories[0], None, rows))
        else:
            out.append((f.name, None, 40.0, rows))
    positive = rows // 4
    label = [(schema.LABEL, "<=50K", None, rows - positive), (schema.LABEL, ">50K", None, positive)]
    return out + override.get(schema.LABEL, label)


def test_clean_counts_have_no_anomaly_and_a_tfdv_baseline():
    stats = statistics.compute(counts(1000))
    assert statistics.anomalies(stats) == []
    assert stats["format"] == statistics.FORMAT and stats["rows"] == 1000
    assert stats["label_positive_share"] == 0.25
    assert stats["features"]["age"]["histogram"]["buckets"][0][:2] == [40.0, 40.0]


def test_each_bad_case_names_the_feature_and_the_value():
    many_missing = [("age", None, 40.0, 700), ("age", None, None, 300)]
    assert statistics.anomalies(statistics.compute(counts(1000, age=many_missing))) == [
        "age: 30.0% missing > 20%"
    ]
    unknown = [("workclass", "Private", None, 990), ("workclass", "Space-agency", None, 10)]
    assert statistics.anomalies(statistics.compute(counts(1000, workclass=unknown))) == [
        "workclass: unknown categories ['Space-agency']"
    ]
    one_class = {schema.LABEL: [(schema.LABEL, "<=50K", None, 1000)]}
    assert statistics.anomalies(statistics.compute(counts(1000, **one_class))) == [
        f"{schema.LABEL}: positive share 0.0% outside 5%..95%"
    ]
    assert statistics.anomalies(statistics.compute([])) == ["no rows"]


def test_validate_refuses_bad_training_data_and_writes_no_baseline(tmp_path, write_csv):
    lines = [
        "25, ?, 1, Bachelors, 13, Never-married, ?, Own-child, White, Male, 0, 0, 40, "
        "United-States, <=50K"
    ] * 30
    lines += [
        "40, Private, 1, Bachelors, 13, Never-married, Sales, Own-child, White, Female, "
        "0, 0, 40, United-States, >50K"
    ] * 10
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    warehouse.ingest("train", str(write_csv(lines)))
    with pytest.raises(DataError, match=r"workclass: 75.0% missing > 20%; occupation: 75.0%"):
        steps.validate(warehouse, tmp_path / "baseline.json")
    assert not (tmp_path / "baseline.json").exists()


def test_validate_writes_the_baseline_from_the_warehouse(tmp_path):
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    warehouse.ingest("train", "bundled:train")
    stats = steps.validate(warehouse, tmp_path / "baseline.json")
    assert json.loads((tmp_path / "baseline.json").read_text()) == stats
    assert stats["rows"] == 32_561 and stats["features"]["workclass"]["missing"] == 1_836
