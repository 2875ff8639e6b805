"""The BigQuery load job that reads a raw census file whole, line by line."""

import pytest
from google.cloud import bigquery

from adapters.vertex.bigquery import LINE_DELIMITER, export_sql, load_job_options
from kernel.errors import UserError


def test_each_line_loads_whole_into_one_string_column():
    load = bigquery.LoadJobConfig(**load_job_options(bigquery)).to_api_repr()["load"]
    assert [f["name"] for f in load["schema"]["fields"]] == ["raw", "line_number"]
    assert load["sourceFormat"] == "CSV" and load["encoding"] == "UTF-8"
    assert load["fieldDelimiter"] == LINE_DELIMITER == "\x1f"  # no census line holds it
    assert load["quote"] == ""  # quotes are data: a quoted comma is the rules' business
    assert load["allowJaggedRows"] is True  # line_number stays NULL: no source positions
    assert load["preserveAsciiControlCharacters"] is True  # a form feed stays in its line
    assert load["writeDisposition"] == "WRITE_TRUNCATE"


def test_export_writes_csv_shards_into_the_artifact_folder():
    sql = export_sql("gs://root/runs/job-1/ingest/train_data", "`p.d.census_train`")
    assert sql.startswith(
        "EXPORT DATA OPTIONS(uri='gs://root/runs/job-1/ingest/train_data/part-*.csv', "
        "format='CSV', overwrite=true, header=true) AS SELECT age, workclass,"
    )
    assert sql.endswith("income_bracket FROM `p.d.census_train`")


@pytest.mark.parametrize("bad", ["/gcs/root/x", "gs://root/x'; DROP TABLE t; --", "gs://r"])
def test_export_refuses_anything_but_a_plain_gs_folder(bad):
    with pytest.raises(UserError, match="plainly named gs:// folder"):
        export_sql(bad, "`p.d.t`")
