"""The Vertex target's warehouse: tables in the tenant's CMEK BigQuery dataset.

BigQuery loads the raw file from its gs:// URI; the census rules run in BigQuery, as SQL
(trainer/rules.py): typed and quarantine tables are made by queries, the counts the bad
fraction is judged from come from them, and BigQuery exports the typed rows into the
pipeline root itself. The data never passes through this process (docs/ingest.md).
"""

from __future__ import annotations

import re

import pandas as pd

from kernel import gcp
from kernel.errors import DataError, UserError
from kernel.uris import split as split_uri
from promotion.domain import statistics
from promotion.ports import CountRow, Ingested
from trainer import automl, rules, schema
from trainer.records import BadRow

# BigQuery's CSV load, set to read each line whole: a unit separator (a byte no census line
# holds) as the delimiter, no quoting, ASCII control characters kept; `line_number` is left
# NULL (allowJaggedRows), since a load job keeps no source position.
LINE_DELIMITER = "\x1f"


def load_job_options(bq) -> dict:
    """LoadJobConfig arguments for a raw census file (pure: tested field by field)."""
    return {
        "schema": [bq.SchemaField("raw", "STRING"), bq.SchemaField("line_number", "INT64")],
        "source_format": bq.SourceFormat.CSV,
        "field_delimiter": LINE_DELIMITER,
        "quote_character": "",
        "allow_jagged_rows": True,
        "ignore_unknown_values": True,
        "preserve_ascii_control_characters": True,
        "encoding": "UTF-8",
        "write_disposition": bq.WriteDisposition.WRITE_TRUNCATE,
    }


_EXPORT_URI = re.compile(r"^gs://[a-z0-9][a-z0-9._-]{1,220}(/[A-Za-z0-9._=-]+)+/?$")


def export_sql(destination: str, table: str) -> str:
    """EXPORT DATA of a typed table into the folder `destination`, as CSV shards (pure)."""
    if not _EXPORT_URI.match(destination):
        raise UserError(f"{destination}: BigQuery exports to a plainly named gs:// folder")
    columns = ", ".join(schema.RAW_COLUMNS)
    uri = f"{destination.rstrip('/')}/part-*.csv"
    options = f"uri='{uri}', format='CSV', overwrite=true, header=true"
    return f"EXPORT DATA OPTIONS({options}) AS SELECT {columns} FROM {table}"  # noqa: S608


class BigQueryWarehouse:
    """Tables in the CMEK dataset (its default key encrypts every table made here)."""

    def __init__(self, project: str, dataset: str, region: str) -> None:
        from google.cloud import bigquery

        self.bq = bigquery
        self.client = bigquery.Client(
            project=project, location=region, client_options=gcp.client_options("bigquery")
        )
        self.dataset = f"{project}.{dataset}"

    def _table(self, name: str) -> str:
        return f"`{self.dataset}.{name}`"

    def _query(self, sql: str) -> list:
        return list(self.client.query(sql).result())  # raises with BigQuery's message

    def ingest(self, split: str, uri: str) -> Ingested:
        """A load job from `uri` straight into raw_<split> (this process never holds the
        data), then the rules as queries; the checksum is the object's own (MD5)."""
        if not uri.startswith("gs://"):
            raise UserError(
                f"{uri}: on Vertex AI the census data must be in Cloud Storage (gs://...), "
                "where BigQuery loads it from"
            )
        checksum = self._object_checksum(uri)
        config = self.bq.LoadJobConfig(**load_job_options(self.bq))
        job = self.client.load_table_from_uri(uri, f"{self.dataset}.raw_{split}", job_config=config)
        job.result()  # raises with BigQuery's message on failure
        raw, judged = self._table(f"raw_{split}"), self._table(f"judged_{split}")
        census, bad = self._table(f"census_{split}"), self._table(f"quarantine_{split}")
        # the rules run once; the typed and quarantine tables are its two halves
        self._query(f"CREATE OR REPLACE TABLE {judged} AS {rules.judged_sql(raw)}")
        self._query(f"CREATE OR REPLACE TABLE {census} AS {rules.typed_from(judged)}")
        self._query(f"CREATE OR REPLACE TABLE {bad} AS {rules.quarantine_from(judged)}")
        self._query(f"DROP TABLE {judged}")
        (counts,) = self._query(
            f"SELECT (SELECT COUNT(*) FROM {census}) AS good, "  # noqa: S608
            f"(SELECT COUNT(*) FROM {bad}) AS bad"
        )
        return Ingested(int(counts.good), int(counts.bad), checksum)

    def _object_checksum(self, uri: str) -> str:
        """The object's MD5 as Cloud Storage records it: metadata, not a download."""
        from google.cloud import storage

        bucket, name = split_uri(uri)
        client = storage.Client(
            project=self.client.project, client_options=gcp.client_options("storage")
        )
        blob = client.bucket(bucket).get_blob(name)
        if blob is None:
            raise DataError(f"census data file not found: {uri}")
        return f"md5:{blob.md5_hash}"

    def quarantined(self, split: str) -> list[BadRow]:
        sql = (
            f"SELECT line_number, reason, raw FROM {self._table(f'quarantine_{split}')} "  # noqa: S608
            "ORDER BY line_number"
        )
        return [BadRow(r.line_number, r.reason, r.raw) for r in self._query(sql)]

    def value_counts(self, split: str) -> list[CountRow]:
        """The counts are computed in BigQuery; only they come back (a few thousand rows)."""
        sql = statistics.value_counts_sql(self._table(f"census_{split}"), label=True)
        return [(r.feature, r.text, r.number, int(r.n)) for r in self._query(sql)]

    def batch_predictions(self, table: str) -> pd.DataFrame:
        rows = self._query(automl.batch_predictions_sql(self._table(table)))
        return pd.DataFrame([dict(r.items()) for r in rows])

    def export(self, split: str, destination: str) -> str:
        """EXPORT DATA into `destination` (a gs:// folder: the dataset artifact), as CSV
        shards with a header: BigQuery writes them, nothing passes through here."""
        self._query(export_sql(destination, self._table(f"census_{split}")))
        return destination
