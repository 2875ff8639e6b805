"""Vertex AI AutoML Tabular, simulated: tabular datasets, training pipelines with the AutoML
tabular definition, batch prediction jobs and the export of the model they make.

Training runs as the project's Vertex AI service agent, as AutoML's does (a TrainingPipeline
has no service-account field): the agent reads the dataset's BigQuery table, the stand-in
search (trainer/automl.py: FLAML over LightGBM, not Google's AutoML) runs for the budget
scaled by `tabular.NODE_HOUR_SECONDS`, and the model is Google-managed (kept by the
simulation, exportable, served by the simulated AutoML prediction container). A batch
prediction job reads its source table and writes its output table as the agent too; its
service account (actAs checked) is the identity a custom container would run as. CMEK on the
dataset, the pipeline, the model and the job: the agent must hold encrypt on each key.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path
from typing import Any

from starlette.responses import JSONResponse

from simulation.apis.routing import route
from simulation.apis.vertex import tabular
from simulation.apis.vertex.models import MODEL, version_of
from simulation.apis.vertex.state import V1, M, T, Vertex, now
from simulation.wire import ApiError

DATASETS = V1 + r"/datasets"
PIPELINES = V1 + r"/trainingPipelines"
BATCH = V1 + r"/batchPredictionJobs"
CREATE_DATASET = (T + "CreateDatasetOperationMetadata", T + "Dataset")
EXPORT = (T + "ExportModelOperationMetadata", T + "ExportModelResponse")
FAILED_PRECONDITION, INTERNAL = 9, 13


class AutoML:
    def __init__(self, vertex: Vertex) -> None:
        self.v = vertex
        self.state = vertex.state

    def _named(self, call: Any, table: dict, name: str, kind: str) -> dict:
        call.authorize(f"projects/{name.split('/')[1]}")
        if name not in table:
            raise ApiError(404, f"{kind} {name} does not exist.")
        return table[name]

    # Datasets ---------------------------------------------------------------------------

    @route("POST", DATASETS, f"{M}.datasets.create")
    def create_dataset(self, call: Any, project: str, location: str) -> JSONResponse:
        pid = self.v.project_id(project)
        call.authorize(f"projects/{pid}")
        body = call.json()
        if body.get("metadataSchemaUri") != tabular.DATASET_SCHEMA:
            raise ApiError(400, f"metadataSchemaUri: the simulation holds tabular datasets only "
                                f"({tabular.DATASET_SCHEMA}).")  # fmt: skip
        source = ((body.get("metadata") or {}).get("inputConfig") or {}).get("bigquerySource")
        uri = (source or {}).get("uri", "")
        tabular.bigquery_uri(uri, "metadata.inputConfig.bigquerySource.uri")
        self.v.cmek(call.entry, pid, location, body.get("encryptionSpec"))
        name = f"{self.v.parent(project, location)}/datasets/{self.state.next_id()}"
        self.state.datasets[name] = {**body, "name": name, "createTime": now()}
        return self.v.operation(name, self.state.datasets[name], CREATE_DATASET)

    @route("GET", DATASETS + r"/(?P<dataset>[^/:]+)", f"{M}.datasets.get")
    def get_dataset(self, call: Any, project: str, location: str, dataset: str) -> JSONResponse:
        name = f"{self.v.parent(project, location)}/datasets/{dataset}"
        return JSONResponse(self._named(call, self.state.datasets, name, "Dataset"))

    # Training pipelines -----------------------------------------------------------------

    @route("POST", PIPELINES, f"{M}.trainingPipelines.create")
    def create_pipeline(self, call: Any, project: str, location: str) -> JSONResponse:
        pid = self.v.project_id(project)
        call.authorize(f"projects/{pid}")
        body = call.json()
        training = tabular.training_of(body)
        where = self.v.parent(project, location)
        dataset = f"{where}/datasets/{training.dataset_id}"
        if dataset not in self.state.datasets:
            raise ApiError(404, f"inputDataConfig.datasetId: dataset {dataset} does not exist.")
        self.v.cmek(call.entry, pid, location, body.get("encryptionSpec"))
        self.v.cmek(call.entry, pid, location, (body.get("modelToUpload") or {}).get(
            "encryptionSpec"))  # fmt: skip
        name = f"{where}/trainingPipelines/{self.state.next_id()}"
        self.state.training_pipelines[name] = pipeline = {
            **body,
            "name": name,
            "state": "PIPELINE_STATE_PENDING",
            "createTime": now(),
            "updateTime": now(),
        }
        shown = dict(pipeline)  # as created: pending
        # trained within the call (seconds, not hours): the caller's first poll finds it done
        self._train(pipeline, training, dataset, pid, location)
        return JSONResponse(shown)

    @route("GET", PIPELINES + r"/(?P<pipeline>[^/:]+)", f"{M}.trainingPipelines.get")
    def get_pipeline(self, call: Any, project: str, location: str, pipeline: str):
        name = f"{self.v.parent(project, location)}/trainingPipelines/{pipeline}"
        return JSONResponse(
            self._named(call, self.state.training_pipelines, name, "Training pipeline")
        )

    def _train(self, pipeline: dict, training: tabular.Training, dataset: str, pid: str,
               location: str) -> None:  # fmt: skip
        """The pipeline's work, as Vertex AI's service agent: read, search, keep the model."""
        pipeline.update(state="PIPELINE_STATE_RUNNING", startTime=now())
        agent = self.v.agent(pid)
        try:
            source = self.state.datasets[dataset]["metadata"]["inputConfig"]["bigquerySource"]
            project, data, table = tabular.bigquery_uri(source["uri"], "bigquerySource.uri")
            frame = self.v.sim.bigquery.read_table(agent, project, data, table or "")
            model_id = self.state.next_id()
            stored = self.v.sim.root / "vertex" / "automl" / model_id
            classes = _stand_in(frame, training, stored, pipeline["name"])
            name = f"projects/{pid}/locations/{location}/models/{model_id}"
            model = tabular.model_resource(name, pipeline, location)
            version = {**model, "createTime": now(), "updateTime": now()}
            self.state.models[name] = {
                "versions": {"1": version},
                "aliases": {"default": "1"},
                "next": 2,
            }
            self.state.tabular[name] = {
                "classes": classes,
                "stored": stored,
                "columns": training.columns,
                "location": location,
                "target": training.target,
            }
            uploaded = {**pipeline.get("modelToUpload", {}), "name": name, "versionId": "1"}
            pipeline.update(modelToUpload=uploaded, state="PIPELINE_STATE_SUCCEEDED")
        except ApiError as exc:
            failed(pipeline, FAILED_PRECONDITION, exc.message)
        except Exception as exc:  # the service's own failure, reported on the pipeline
            failed(pipeline, INTERNAL, f"{type(exc).__name__}: {exc}")
        pipeline.update(endTime=now(), updateTime=now())

    # Batch prediction -------------------------------------------------------------------

    @route("POST", BATCH, f"{M}.batchPredictionJobs.create")
    def create_batch(self, call: Any, project: str, location: str) -> JSONResponse:
        pid = self.v.project_id(project)
        call.authorize(f"projects/{pid}")
        body = call.json()
        model_name, _, version = body.get("model", "").partition("@")
        if model_name not in self.state.tabular:
            raise ApiError(404, f"model: {body.get('model')!r} is not an AutoML tabular model "
                                "this simulation trained.")  # fmt: skip
        version_of(self.state.models[model_name], version or None)
        identity = body.get("serviceAccount")
        if identity:
            self.v.act_as(call, identity, pid)
        self.v.cmek(call.entry, pid, location, body.get("encryptionSpec"))
        inputs, outputs = body.get("inputConfig") or {}, body.get("outputConfig") or {}
        if inputs.get("instancesFormat") != "bigquery" or outputs.get("predictionsFormat") != (
            "bigquery"
        ):
            raise ApiError(400, "The simulation runs batch predictions from BigQuery to "
                                "BigQuery only (instancesFormat, predictionsFormat).")  # fmt: skip
        source = tabular.bigquery_uri(
            (inputs.get("bigquerySource") or {}).get("inputUri", ""),
            "inputConfig.bigquerySource.inputUri",
        )
        target = tabular.bigquery_uri(
            (outputs.get("bigqueryDestination") or {}).get("outputUri", ""),
            "outputConfig.bigqueryDestination.outputUri", table=False,
        )  # fmt: skip
        name = f"{self.v.parent(project, location)}/batchPredictionJobs/{self.state.next_id()}"
        job = {**body, "name": name, "state": "JOB_STATE_RUNNING", "createTime": now(),
               "startTime": now()}  # fmt: skip
        self.state.batch_jobs[name] = job
        self._predict(job, model_name, source, target, pid)
        return JSONResponse({**job, "state": "JOB_STATE_RUNNING"})  # done by the first get

    @route("GET", BATCH + r"/(?P<job>[^/:]+)", f"{M}.batchPredictionJobs.get")
    def get_batch(self, call: Any, project: str, location: str, job: str) -> JSONResponse:
        name = f"{self.v.parent(project, location)}/batchPredictionJobs/{job}"
        return JSONResponse(self._named(call, self.state.batch_jobs, name, "Batch job"))

    def _predict(self, job: dict, model_name: str, source, target, pid: str) -> None:
        import pandas as pd

        agent = self.v.agent(pid)
        known = self.state.tabular[model_name]
        excluded = set((job.get("instanceConfig") or {}).get("excludedFields") or [])
        try:
            frame = self.v.sim.bigquery.read_table(agent, *source)
            missing = sorted(set(known["columns"]) - set(frame.columns) - excluded)
            if missing:
                raise ApiError(400, f"The input table lacks the model's columns {missing}.")
            scores = _scores(known["stored"], frame)
            out = frame.copy()
            out[f"predicted_{known['target']}"] = [
                tabular.classes_and_scores(known["classes"], p) for p in scores
            ]
            table = tabular.output_table(time.time())
            self.v.sim.bigquery.write_table(agent, target[0], target[1], table, pd.DataFrame(out))
            job.update(
                state="JOB_STATE_SUCCEEDED",
                outputInfo={"bigqueryOutputDataset": f"bq://{target[0]}.{target[1]}",
                            "bigqueryOutputTable": table},
                completionStats={"successfulCount": str(len(out)), "failedCount": "0"},
            )  # fmt: skip
        except ApiError as exc:
            failed(job, FAILED_PRECONDITION, exc.message, "JOB_STATE_FAILED")
        job.update(endTime=now(), updateTime=now())

    # Export -----------------------------------------------------------------------------

    @route("POST", MODEL + ":export", f"{M}.models.export")
    def export(
        self, call: Any, project: str, location: str, model: str, version: str | None = None
    ) -> JSONResponse:
        """The model as AutoML exports it (tf-saved-model): a folder the prediction container
        serves, with environment.json naming that container; written as Vertex's agent."""
        pid = self.v.project_id(project)
        call.authorize(f"projects/{pid}")
        name = f"{self.v.parent(project, location)}/models/{model}"
        known = self.state.tabular.get(name)
        if known is not None:
            version_of(self.state.models[name], version)
        if known is None:
            raise ApiError(400, f"Model {name} cannot be exported: not an AutoML tabular model.")
        config = call.json().get("outputConfig") or {}
        if config.get("exportFormatId") != tabular.EXPORT_FORMAT:
            raise ApiError(400, f"outputConfig.exportFormatId {config.get('exportFormatId')!r}: "
                                f"this model exports as {tabular.EXPORT_FORMAT!r}.")  # fmt: skip
        prefix = (config.get("artifactDestination") or {}).get("outputUriPrefix", "")
        if not prefix.startswith("gs://"):
            raise ApiError(400, "outputConfig.artifactDestination.outputUriPrefix must be gs://.")
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        folder = f"{prefix.rstrip('/')}/model-{model}/{tabular.EXPORT_FORMAT}/{stamp}"
        bucket, _, under = folder[5:].partition("/")
        entry = call.entry
        stored = Path(known["stored"])
        for path in sorted(p for p in stored.rglob("*") if p.is_file()):
            relative = path.relative_to(stored)
            self._write_as_agent(entry, pid, bucket, f"{under}/{relative}", path.read_bytes())
        environment = tabular.environment_json(known["location"])
        self._write_as_agent(entry, pid, bucket, f"{under}/environment.json", environment)
        info = {"outputInfo": {"artifactOutputUri": folder}}
        return self.v.operation(name, {}, EXPORT, metadata=info)

    def _write_as_agent(self, entry, pid: str, bucket: str, name: str, data: bytes) -> None:
        resource = f"projects/_/buckets/{bucket}"
        create = "storage.objects.create"
        if not self.v.agent_may(entry, pid, create, resource, f"gs://{bucket}", "bucket"):
            raise ApiError(
                400, f"Vertex AI Service Agent {self.v.agent(pid)} cannot write to gs://{bucket}."
            )
        target = self.v.sim.root / "storage" / bucket / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def failed(resource: dict, code: int, message: str, state: str = "PIPELINE_STATE_FAILED"):
    resource.update(state=state, error={"code": code, "message": message})


def _stand_in(frame, training: tabular.Training, stored: Path, pipeline: str) -> list[str]:
    """The search AutoML stands in for, on the table as read; the model kept at `stored`."""
    from trainer import automl, loader, schema
    from trainer.hyperparameters import Hyperparameters

    wanted = {f.name for f in schema.FEATURES}
    if set(training.columns) != wanted or training.target != schema.LABEL:
        raise ApiError(
            400,
            "the simulated AutoML's stand-in learns the census schema (features "
            f"{sorted(wanted)}, target {schema.LABEL!r}); this pipeline names "
            f"{sorted(training.columns)} and {training.target!r}",
        )
    typed = loader.to_frame(frame)
    digest = hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()
    model = automl.train_stand_in(
        typed,
        Hyperparameters(),
        training.search_seconds,
        data_sha256=digest,
        log=lambda _: None,
        max_trials=training.search_trials,
    )
    model.metadata["trainer"] = automl.VERTEX_AUTOML_SIMULATED
    model.metadata["training_pipeline"] = pipeline
    if stored.exists():
        shutil.rmtree(stored)
    model.save(stored)
    return list(schema.CLASSES)


def _scores(stored: Path, frame) -> list[float]:
    from trainer import loader, schema
    from trainer.model import CensusModel

    model = CensusModel.load(stored)
    rows = frame if schema.LABEL in frame else frame.assign(**{schema.LABEL: None})
    return [float(p) for p in model.predict_proba(loader.to_frame(rows))]
