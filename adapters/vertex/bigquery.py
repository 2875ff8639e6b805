"""The Vertex target's warehouse: tables in the tenant's CMEK BigQuery dataset.

The census rules run in BigQuery, as SQL (trainer/rules.py): typed and quarantine tables are
made by queries, and the counts the bad fraction is judged from come from them. Still to
change (docs/ingest.md, "BigQuery"): the raw lines are uploaded by this process rather than
loaded by BigQuery from the gs:// URI, and the export comes back through it.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from kernel import gcp
from promotion.ports import Ingested, Quarantined
from trainer import loader, rules


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
        data = loader.read_source(uri)
        text = data.decode("utf-8", errors="replace")
        lines = text.replace("\r\n", "\n").split("\n")
        if text.endswith("\n"):
            lines.pop()
        rows = [{"line_number": i, "raw": s} for i, s in enumerate(lines, 1)]
        config = self.bq.LoadJobConfig(
            schema=[
                self.bq.SchemaField("line_number", "INT64"),
                self.bq.SchemaField("raw", "STRING"),
            ],
            source_format=self.bq.SourceFormat.NEWLINE_DELIMITED_JSON,
            write_disposition=self.bq.WriteDisposition.WRITE_TRUNCATE,
        )
        with tempfile.TemporaryFile() as f:
            f.write("\n".join(json.dumps(r) for r in rows).encode())
            f.seek(0)
            job = self.client.load_table_from_file(
                f, f"{self.dataset}.raw_{split}", job_config=config
            )
        job.result()  # a BigQuery load job; raises with BigQuery's message on failure
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
        return Ingested(int(counts.good), int(counts.bad), f"sha256:{loader.sha256(data)}")

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
