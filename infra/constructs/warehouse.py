"""The BigQuery dataset, with its default CMEK key set in code (not by ALTER PROJECT)."""

from __future__ import annotations

from cdktf_cdktf_provider_google.bigquery_dataset import BigqueryDataset
from constructs import Construct

from infra.settings import Settings


class Warehouse(Construct):
    def __init__(
        self, scope: Construct, id_: str, settings: Settings, *, kms_key_name: str, depends_on=()
    ) -> None:
        super().__init__(scope, id_)
        self.dataset = BigqueryDataset(
            self,
            "dataset",
            project=settings.project_id,
            dataset_id=settings.bigquery_dataset,
            location=settings.region,
            description="census raw data, quarantine, statistics and request logs",
            default_encryption_configuration={"kms_key_name": kms_key_name},
            delete_contents_on_destroy=False,
            labels={"env": settings.env},
            depends_on=list(depends_on),
        )
