"""The Vertex target's warehouse: tables in the tenant's CMEK BigQuery dataset.

BigQuery loads the raw file from its gs:// URI; the census rules run in BigQuery, as SQL
(trainer/rules.py): typed and quarantine tables are made by queries, and the counts the bad
fraction is judged from come from them. Still to change (docs/ingest.md): the export comes
back through this process.
"""

from __future__ import annotations

from pathlib import Path

from kernel import gcp
from kernel.errors import DataError, UserError
from kernel.uris import split as split_uri
from promotion.ports import Ingested, Quarantined
from trainer import loader, rules

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

    def quarantined(self, split: str) -> list[Quarantined]:
        sql = (
            f"SELECT line_number, reason, raw FROM {self._table(f'quarantine_{split}')} "  # noqa: S608
            "ORDER BY line_number"
        )
        return [Quarantined(r.line_number, r.reason, r.raw) for r in self._query(sql)]

    def export(self, split: str, destination: Path) -> Path:
        columns = ", ".join(loader.schema.RAW_COLUMNS)
        sql = (
            f"SELECT {columns} FROM {self._table(f'census_{split}')} "  # noqa: S608
            "ORDER BY line_number"
        )
        import pandas as pd

        names = list(loader.schema.RAW_COLUMNS)
        typed = pd.DataFrame([list(row.values()) for row in self._query(sql)], columns=names)
        return loader.to_csv(loader.to_frame(typed), destination)
