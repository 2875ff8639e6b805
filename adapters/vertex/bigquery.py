"""The Vertex target's warehouse: tables in the tenant's CMEK BigQuery dataset."""

from __future__ import annotations

import json
import tempfile

import pandas as pd

from kernel import gcp
from trainer import loader


class BigQueryWarehouse:
    """Tables in the CMEK dataset (its default key encrypts every table loaded here)."""

    def __init__(self, project: str, dataset: str, region: str) -> None:
        from google.cloud import bigquery

        self.bq = bigquery
        self.client = bigquery.Client(
            project=project, location=region, client_options=gcp.client_options("bigquery")
        )
        self.dataset = f"{project}.{dataset}"

    def _load(self, table: str, rows: list[dict], schema: list) -> None:
        config = self.bq.LoadJobConfig(
            schema=schema,
            source_format=self.bq.SourceFormat.NEWLINE_DELIMITED_JSON,
            write_disposition=self.bq.WriteDisposition.WRITE_TRUNCATE,
        )
        data = "\n".join(json.dumps(r) for r in rows).encode()
        with tempfile.TemporaryFile() as f:
            f.write(data)
            f.seek(0)
            job = self.client.load_table_from_file(f, f"{self.dataset}.{table}", job_config=config)
        job.result()  # a BigQuery load job; raises with BigQuery's message on failure

    def load_raw_lines(self, table: str, uri: str) -> int:
        lines = loader.read_source(uri).decode("utf-8", errors="replace").splitlines()
        schema = [
            self.bq.SchemaField("line_number", "INT64"),
            self.bq.SchemaField("line", "STRING"),
        ]
        self._load(table, [{"line_number": i, "line": s} for i, s in enumerate(lines, 1)], schema)
        return len(lines)

    def read_lines(self, table: str) -> list[str]:
        query = f"SELECT line FROM `{self.dataset}.{table}` ORDER BY line_number"  # noqa: S608
        return [row.line for row in self.client.query(query).result()]

    def write_frame(self, table: str, frame: pd.DataFrame) -> None:
        plain = frame.astype(object).where(frame.notna(), None)
        schema = [
            self.bq.SchemaField(
                c, "FLOAT64" if str(frame[c].dtype).startswith(("float", "int")) else "STRING"
            )
            for c in frame.columns
        ]
        self._load(table, plain.to_dict("records"), schema)
