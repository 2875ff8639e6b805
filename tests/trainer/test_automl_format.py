"""Vertex AutoML's formats as the platform reads and writes them: batch predictions in
BigQuery, online instances as strings, predictions as classes and scores, the export's
container."""

import json

import duckdb
import pytest

from kernel.errors import DataError
from trainer import automl, rules

PREDICTION = {"classes": [">50K", "<=50K"], "scores": [0.8, 0.2]}  # in no promised order


def test_the_positive_score_is_found_by_its_class():
    assert automl.positive_score(PREDICTION) == 0.8
    assert automl.positive_score(json.dumps(PREDICTION)) == 0.8
    assert automl.as_label_probability(PREDICTION) == {"label": ">50K", "probability": 0.8}
    assert automl.as_label_probability({"label": "<=50K", "probability": 0.1}) == {
        "label": "<=50K", "probability": 0.1}  # fmt: skip


@pytest.mark.parametrize(
    "bad",
    [{"classes": ["<=50K"], "scores": [1.0]}, {"classes": [">50K"], "scores": [1.5]},
     {"classes": [">50K", "<=50K"], "scores": [0.5]}, {}],
)  # fmt: skip
def test_a_prediction_without_a_usable_positive_score_is_refused(bad):
    with pytest.raises(ValueError, match="AutoML"):
        automl.positive_score(bad)


def test_online_instances_carry_every_value_as_a_string():
    rows = [{"age": 39.0, "hours_per_week": 40.5, "workclass": "Private", "sex": None}]
    assert automl.online_instances(rows) == [
        {"age": "39", "hours_per_week": "40.5", "workclass": "Private", "sex": None}
    ]


def test_the_batch_predictions_query_runs_on_an_output_table():
    """The BigQuery SQL, transpiled as the local warehouse runs it, on a table shaped as
    Vertex writes it: the input row plus the predicted record."""
    con = duckdb.connect()
    columns = ", ".join(f"NULL AS {c}" for c in automl.schema.RAW_COLUMNS)
    con.execute(
        f"CREATE TABLE t AS SELECT {columns}, 7 AS line_number, "
        "{'classes': ['<=50K', '>50K'], 'scores': [0.3, 0.7]} AS predicted_income_bracket"
    )
    sql = rules.in_dialect(automl.batch_predictions_sql("t"), "duckdb")
    ((*values, prediction),) = con.execute(sql).fetchall()
    assert len(values) == len(automl.schema.RAW_COLUMNS)
    assert automl.positive_score(prediction) == 0.7


def test_the_export_names_its_container():
    image = "europe-docker.pkg.dev/vertex-ai/automl-tabular/prediction-server-v1"
    assert automl.export_container(json.dumps({"container_uri": image}), "gs://m") == image
    for bad in ("{}", "not json", '{"container_uri": ""}'):
        with pytest.raises(DataError, match=r"gs://m/environment\.json"):
            automl.export_container(bad, "gs://m")
