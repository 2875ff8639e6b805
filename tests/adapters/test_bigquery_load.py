"""The BigQuery load job that reads a raw census file whole, line by line."""

from google.cloud import bigquery

from adapters.vertex.bigquery import LINE_DELIMITER, load_job_options


def test_each_line_loads_whole_into_one_string_column():
    load = bigquery.LoadJobConfig(**load_job_options(bigquery)).to_api_repr()["load"]
    assert [f["name"] for f in load["schema"]["fields"]] == ["raw", "line_number"]
    assert load["sourceFormat"] == "CSV" and load["encoding"] == "UTF-8"
    assert load["fieldDelimiter"] == LINE_DELIMITER == "\x1f"  # no census line holds it
    assert load["quote"] == ""  # quotes are data: a quoted comma is the rules' business
    assert load["allowJaggedRows"] is True  # line_number stays NULL: no source positions
    assert load["preserveAsciiControlCharacters"] is True  # a form feed stays in its line
    assert load["writeDisposition"] == "WRITE_TRUNCATE"
