"""An AutoML model scored from Vertex's batch predictions, in a real DuckDB warehouse: the
same rows as the test split, or refused."""

import duckdb
import pytest

from adapters.local.warehouse import DuckDBWarehouse
from kernel.errors import DataError
from promotion.steps import staging
from trainer import loader, schema

DESCRIBED = {"format": "census-vertex-automl/1", "predictions_table": "predictions_1"}


@pytest.fixture
def warehouse(tmp_path):
    """census_test's rows (the bundled split's first 500) with Vertex's prediction record."""
    test = loader.load_census(loader.bundled_path("test")).frame.head(500)
    path = tmp_path / "warehouse.duckdb"
    rows = test.astype(object).where(test.notna(), None)
    rows["predicted_income_bracket"] = [
        {"classes": list(schema.CLASSES), "scores": [0.9, 0.1] if y == "<=50K" else [0.2, 0.8]}
        for y in test[schema.LABEL]
    ]
    with duckdb.connect(str(path)) as con:
        con.register("incoming", rows)
        con.execute('CREATE TABLE "predictions_1" AS SELECT * FROM incoming')
    return DuckDBWarehouse(path), test


def test_an_automl_model_is_scored_from_its_predictions_of_the_same_rows(warehouse):
    store, test = warehouse
    shuffled = test.sample(frac=1.0, random_state=3)  # order is not part of it
    scored = staging._scored_by_vertex(DESCRIBED, store, shuffled)
    assert scored["count"] == 500 and scored["roc_auc"] == 1.0  # the scores split the labels
    assert scored["accuracy"] == 1.0 and set(scored["slices"]) == set(schema.SLICE_FEATURES)


def test_predictions_of_another_test_split_are_refused(warehouse):
    store, test = warehouse
    changed = test.copy()
    changed.loc[0, "age"] = changed.loc[0, "age"] + 1
    with pytest.raises(DataError, match=r"predictions_1: 500 rows\) are not of this run's test"):
        staging._scored_by_vertex(DESCRIBED, store, changed)
    with pytest.raises(DataError, match="not of this run's test split"):
        staging._scored_by_vertex(DESCRIBED, store, test.head(499))


def test_a_missing_or_empty_predictions_table_is_named(warehouse):
    store, _ = warehouse
    with pytest.raises(DataError, match="no batch prediction table 'predictions_9'"):
        staging._scored_by_vertex({**DESCRIBED, "predictions_table": "predictions_9"}, store)
    with duckdb.connect(str(store.path)) as con:
        con.execute('CREATE TABLE "predictions_0" AS SELECT * FROM "predictions_1" LIMIT 0')
    with pytest.raises(DataError, match="batch prediction table predictions_0 is empty"):
        staging._scored_by_vertex({**DESCRIBED, "predictions_table": "predictions_0"}, store)
