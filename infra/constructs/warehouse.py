"""The BigQuery dataset, with its default CMEK key set in code (not by ALTER PROJECT)."""

from __future__ import annotations

from cdktf_cdktf_provider_google.bigquery_dataset import BigqueryDataset
from constructs import Construct

from infra.constructs.props import Place


class Warehouse(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        place: Place,
        *,
        dataset_id: str,
        kms_key_name: str,
        depends_on=(),
    ) -> None:
        super().__init__(scope, id_)
        self.dataset = BigqueryDataset(
            self,
            "dataset",
            project=place.project,
            dataset_id=dataset_id,
            location=place.region,
            description="census raw data, quarantine, statistics and request logs",
            default_encryption_configuration={"kms_key_name": kms_key_name},
            delete_contents_on_destroy=False,
            labels=place.labels,
            depends_on=list(depends_on),
        )
