"""Thin shells over Google Cloud for the Vertex target; the requests come from requests.py.

The same interfaces as pipelines/local/: a warehouse, storage, a model registry with aliases,
an endpoint with a traffic split, monitoring. Prod is always reached as the prod deployer,
by impersonation: the staging pipeline SA may mint its tokens and do nothing else in prod.
Nothing here runs in the test suite (no credentials exist there); every decision it
applies is made by tested pure code (pipelines.core, pipelines.vertex.requests).
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

from mlops.gcs import download_prefix, split
from pipelines.backends import Prod, Staging
from pipelines.core.traffic import EndpointState
from pipelines.local.prod import ModelVersion
from pipelines.params import MODEL_NAME
from pipelines.vertex import requests

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]


def deployer_credentials(deployer_service_account: str):
    import google.auth
    from google.auth import impersonated_credentials

    source, _ = google.auth.default(scopes=SCOPES)
    return impersonated_credentials.Credentials(
        source_credentials=source,
        target_principal=deployer_service_account,
        target_scopes=SCOPES,
        lifetime=3600,
    )


def smoke_attempts(canary_percent: int, miss_probability: float = 0.001) -> int:
    """Single-instance requests needed so the canary answers at least once (p > 99.9%).

    Vertex routes each request by the traffic split; the response names the deployed model
    that answered, so the smoke test keeps only the new version's answers.
    """
    share = canary_percent / 100
    if share >= 1:
        return 1
    return min(500, math.ceil(math.log(miss_probability) / math.log(1 - share)))


class BigQueryWarehouse:
    """Tables in the CMEK dataset (its default key encrypts every table loaded here)."""

    def __init__(self, project: str, dataset: str, region: str) -> None:
        from google.cloud import bigquery

        self.bq = bigquery
        self.client = bigquery.Client(project=project, location=region)
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
        from trainer import loader

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

    def write_frame(self, table: str, frame) -> None:
        plain = frame.astype(object).where(frame.notna(), None)
        schema = [
            self.bq.SchemaField(
                c, "FLOAT64" if str(frame[c].dtype).startswith(("float", "int")) else "STRING"
            )
            for c in frame.columns
        ]
        self._load(table, plain.to_dict("records"), schema)


class GcsStorage:
    def __init__(self, credentials=None, project: str | None = None) -> None:
        from google.cloud import storage

        self.client = storage.Client(project=project, credentials=credentials)

    def copy_tree(self, source: str, destination: str) -> str:
        src_bucket, src_prefix = split(source)
        dst_bucket, dst_prefix = split(destination)
        bucket = self.client.bucket(src_bucket)
        target = self.client.bucket(dst_bucket)
        for blob in self.client.list_blobs(src_bucket, prefix=src_prefix):
            bucket.copy_blob(blob, target, dst_prefix + blob.name[len(src_prefix) :])
        return destination

    def stage(self, files: dict, texts: dict, destination: str) -> str:
        bucket_name, prefix = split(destination)
        bucket = self.client.bucket(bucket_name)
        for name, source in files.items():
            source = Path(source)
            paths = [p for p in source.rglob("*") if p.is_file()] if source.is_dir() else [source]
            for path in paths:
                relative = name if path == source else f"{name}/{path.relative_to(source)}"
                bucket.blob(f"{prefix}/{relative}").upload_from_filename(str(path))
        for name, text in texts.items():
            bucket.blob(f"{prefix}/{name}").upload_from_string(text)
        return destination

    def read_text(self, uri: str) -> str:
        bucket, name = split(uri)
        return self.client.bucket(bucket).blob(name).download_as_text()

    def download_tree(self, uri: str, destination: Path) -> Path:
        return download_prefix(self.client, uri, destination)


class VertexRegistry:
    """Versions of one registered model; 'champion' and 'challenger' are version aliases."""

    def __init__(
        self,
        project: str,
        region: str,
        credentials,
        storage: GcsStorage,
        serving_image: str = "",
        kms_key: str = "",
    ) -> None:
        from google.cloud import aiplatform

        self.ai = aiplatform
        self.project, self.region, self.credentials = project, region, credentials
        self.storage, self.serving_image, self.kms_key = storage, serving_image, kms_key
        self.parent = f"projects/{project}/locations/{region}/models/{MODEL_NAME}"

    def _registry(self):
        return self.ai.models.ModelRegistry(self.parent, credentials=self.credentials)

    def _model(self, version: str):
        return self.ai.Model(f"{self.parent}@{version}", credentials=self.credentials)

    def versions(self) -> list[ModelVersion]:
        from google.api_core.exceptions import NotFound

        try:
            infos = self._registry().list_versions()
        except NotFound:
            return []
        out = []
        for info in infos:
            model = self._model(info.version_id)
            out.append(
                ModelVersion(
                    info.version_id,
                    model.uri,
                    dict(model.labels or {}),
                    [a for a in info.version_aliases if a != "default"],
                )
            )
        return out

    def find(self, label: str, value: str) -> ModelVersion | None:
        wanted = requests.label_value(value)
        return next((v for v in self.versions() if v.labels.get(label) == wanted), None)

    def alias(self, name: str) -> ModelVersion | None:
        return next((v for v in self.versions() if name in v.aliases), None)

    def register(self, artifact_uri: str, labels: dict) -> ModelVersion:
        parent = self.parent if self.versions() else None
        request = requests.upload_request(
            artifact_uri=artifact_uri,
            serving_image=self.serving_image,
            parent_model=parent,
            project=self.project,
            region=self.region,
            kms_key=self.kms_key,
            run_id=labels["run"],
            commit=labels["commit"],
            candidate=labels["candidate"],
        )
        model = self.ai.Model.upload(**request, credentials=self.credentials)
        return ModelVersion(model.version_id, artifact_uri, dict(model.labels or {}))

    def set_alias(self, name: str, version: str | None) -> None:
        current = self.alias(name)
        if current and current.version != version:
            self._registry().remove_version_aliases([name], current.version)
        if version is not None and (current is None or current.version != version):
            self._registry().add_version_aliases([name], version)

    def delete(self, version: str) -> None:
        self._registry().delete_version(version)

    def fetch(self, version: ModelVersion) -> str:
        folder = Path(tempfile.mkdtemp(prefix=f"champion-v{version.version}-"))
        return str(self.storage.download_tree(version.artifact_uri, folder))


class VertexEndpoint:
    def __init__(
        self, project: str, region: str, endpoint_id: str, credentials, registry: VertexRegistry
    ) -> None:
        from google.cloud import aiplatform

        self.endpoint = aiplatform.Endpoint(
            f"projects/{project}/locations/{region}/endpoints/{endpoint_id}",
            credentials=credentials,
        )
        self.registry = registry

    def _deployed(self) -> dict[str, str]:
        """{version: deployed_model_id}, oldest deployment first."""
        self.endpoint._sync_gca_resource()
        models = sorted(
            self.endpoint.gca_resource.deployed_models, key=lambda m: m.create_time.timestamp()
        )
        return {m.model_version_id: m.id for m in models}

    def state(self) -> EndpointState:
        ids = self._deployed()
        by_id = {i: v for v, i in ids.items()}
        split = dict(self.endpoint.gca_resource.traffic_split)
        return EndpointState({by_id[i]: p for i, p in split.items() if p}, tuple(ids))

    def deploy(self, version: str, traffic: dict[str, int], serving) -> None:
        ids = self._deployed()
        if version in ids:
            self.set_traffic(traffic)
            return
        request = requests.deploy_request(
            model_resource=f"{self.registry.parent}@{version}",
            traffic_split=requests.vertex_traffic(traffic, ids, version),
            machine_type=serving.machine_type,
            min_replicas=serving.min_replicas,
            max_replicas=serving.max_replicas,
            service_account=serving.service_account,
        )
        request["model"] = self.registry._model(version)
        self.endpoint.deploy(**request)

    def set_traffic(self, traffic: dict[str, int]) -> None:
        ids = self._deployed()
        self.endpoint.update(traffic_split={ids[v]: p for v, p in traffic.items() if p})

    def undeploy(self, version: str) -> None:
        self.endpoint.undeploy(self._deployed()[version])

    def predict(self, instances: list, version: str) -> list[dict]:
        target = self._deployed()[version]
        share = self.state().traffic.get(version, 0)
        for _ in range(smoke_attempts(max(share, 1))):
            response = self.endpoint.predict(instances=instances)
            if response.deployed_model_id == target:
                return [dict(p) for p in response.predictions]
        raise RuntimeError(f"version {version} never answered; is it receiving traffic?")


class VertexMonitoring:
    def __init__(self, project: str, region: str, endpoint: str, credentials) -> None:
        from google.cloud import aiplatform

        self.ai, self.project, self.region = aiplatform, project, region
        self.endpoint, self.credentials = endpoint, credentials

    def apply(self, config: dict) -> str:
        training_data = config["baseline_uri"].replace("baseline.json", "train.csv")
        request = requests.monitoring_job_request(
            config,
            endpoint=self.endpoint,
            training_data_uri=training_data,
            project=self.project,
            region=self.region,
        )
        existing = [
            j
            for j in self.ai.ModelDeploymentMonitoringJob.list(
                filter=f'display_name="{request["display_name"]}"',
                project=self.project,
                location=self.region,
                credentials=self.credentials,
            )
            if j.state.name not in ("JOB_STATE_CANCELLED", "JOB_STATE_FAILED")
        ]
        if existing:
            updatable = {
                k: request[k]
                for k in (
                    "schedule_config",
                    "alert_config",
                    "logging_sampling_strategy",
                    "objective_configs",
                    "labels",
                )
            }
            existing[0].update(**updatable)
            return "updated"
        self.ai.ModelDeploymentMonitoringJob.create(**request, credentials=self.credentials)
        return "created"


def open_staging(*, project: str, dataset: str, region: str) -> Staging:
    return Staging(BigQueryWarehouse(project, dataset, region), GcsStorage(project=project), "gs:/")


def open_prod(
    *,
    project: str,
    region: str,
    endpoint_id: str,
    deployer_service_account: str,
    serving_image: str = "",
    kms_key: str = "",
) -> Prod:
    credentials = deployer_credentials(deployer_service_account)
    storage = GcsStorage(credentials=credentials, project=project)
    registry = VertexRegistry(project, region, credentials, storage, serving_image, kms_key)
    endpoint = VertexEndpoint(project, region, endpoint_id, credentials, registry)
    monitoring = VertexMonitoring(project, region, endpoint.endpoint.resource_name, credentials)
    return Prod(registry, endpoint, storage, monitoring, "gs:/")
