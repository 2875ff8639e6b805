"""Run records in Vertex AI Experiments, in the staging metadata store (CMEK).

A thin shell over ML Metadata's contexts API: the requests and the reading of responses
are adapters/vertex/requests.py's pure builders. The experiment context is created once;
a run is a system.ExperimentRun context, child of the experiment, with the pipeline job's
own context (its executions and artifacts) as its child; each step reads the run's
metadata, merges its record in and writes it back (steps run one after another).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from adapters.vertex import requests
from kernel import gcp
from promotion.ports import StepRecord


class ExperimentsRunLog:
    def __init__(self, project: str, region: str, credentials: Any = None) -> None:
        from google.cloud import aiplatform_v1

        self.v1 = aiplatform_v1
        self.store = requests.metadata_store(project, region)
        self.experiment = f"{self.store}/contexts/{requests.EXPERIMENT}"
        options = gcp.client_options("aiplatform") or {
            "api_endpoint": f"{region}-aiplatform.googleapis.com"
        }
        self.client = aiplatform_v1.MetadataServiceClient(
            credentials=credentials, client_options=options, transport=gcp.transport("aiplatform")
        )

    def _dict(self, context) -> dict:
        return type(context).to_dict(context, preserving_proto_field_name=False)

    def _get_or_create(self, context_id: str, body: dict) -> tuple[Any, bool]:
        from google.api_core.exceptions import AlreadyExists, NotFound

        name = f"{self.store}/contexts/{context_id}"
        try:
            return self.client.get_context(name=name), False
        except NotFound:
            pass
        try:
            created = self.client.create_context(
                parent=self.store, context=self.v1.Context(**body), context_id=context_id
            )
            return created, True
        except AlreadyExists:  # another step got there first
            return self.client.get_context(name=name), False

    def record(self, run_id: str, step: str, facts: dict) -> None:
        from google.api_core.exceptions import NotFound

        self._get_or_create(requests.EXPERIMENT, requests.experiment_context())
        run, new_run = self._get_or_create(
            requests.run_context_id(run_id), requests.run_context(run_id)
        )
        if new_run:
            self.client.add_context_children(context=self.experiment, child_contexts=[run.name])
            pipeline_context = f"{self.store}/contexts/{run_id}"
            # the pipeline job's own lineage (its executions and artifacts); a run outside
            # Vertex AI Pipelines has no such context
            with contextlib.suppress(NotFound):
                self.client.add_context_children(
                    context=run.name, child_contexts=[pipeline_context]
                )
        metadata = requests.run_metadata(
            self._dict(run).get("metadata") or {},
            step,
            facts,
            datetime.now(UTC).isoformat(),
        )
        self.client.update_context(
            request={
                "context": {"name": run.name, "metadata": metadata},
                "update_mask": {"paths": ["metadata"]},
            }
        )

    def records(self) -> list[StepRecord]:
        pages = self.client.list_contexts(
            request={"parent": self.store, "filter": requests.runs_filter(self.experiment)}
        )
        return [r for context in pages for r in requests.step_records(self._dict(context))]
