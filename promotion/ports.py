"""The contracts between the promotion's steps and the backends, with their value types.

adapters/local and adapters/vertex implement these Protocols; mypy (run by `make test`)
holds each adapter to them, so an adapter that drifts from its port fails the build.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from settings import Platform, Rollout
from trainer.records import BadRow

if TYPE_CHECKING:
    import pandas as pd

# A value count: (feature, text, number, n); NULL text and number count the missing values.
CountRow = tuple[str, str | None, float | None, int]


@dataclass
class ModelVersion:
    version: str
    artifact_uri: str
    labels: dict[str, str] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    created: datetime | None = None  # when it was registered (UTC); None when not known


@dataclass(frozen=True)
class EndpointState:
    """The traffic split {version: percent} over the deployed versions (sums to 100, or empty)."""

    traffic: dict[str, int] = field(default_factory=dict)
    deployed: tuple[str, ...] = ()  # in deployment order, oldest first

    def __post_init__(self) -> None:
        if self.traffic and sum(self.traffic.values()) != 100:
            raise ValueError(f"traffic split must sum to 100: {self.traffic}")
        stray = set(self.traffic) - set(self.deployed)
        if stray:
            raise ValueError(f"traffic to versions not deployed: {sorted(stray)}")

    @property
    def serving(self) -> str | None:
        """The version with the most traffic (the champion's place)."""
        live = {v: p for v, p in self.traffic.items() if p > 0}
        return max(live, key=lambda v: (live[v], self.deployed.index(v))) if live else None


@dataclass(frozen=True)
class VersionStats:
    """What one deployed version served in a window: the canary's evidence."""

    version: str
    requests: int
    errors: int  # server errors (5xx): client mistakes are not the model's fault
    p50_ms: float | None
    p95_ms: float | None

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class Ingested:
    """What a warehouse reports of one ingested file: counts from its own tables."""

    rows: int
    quarantined: int
    checksum: str  # "sha256:<hex>" of the bytes read, or the object store's own checksum


class Warehouse(Protocol):
    """BigQuery on Vertex, DuckDB locally: one tenant's dataset, which parses, validates and
    quarantines with the census rules (trainer/rules.py), in SQL."""

    def ingest(self, split: str, uri: str) -> Ingested:
        """`uri` into census_<split> (typed) and quarantine_<split> (DuckDB: in one
        transaction, so a failed ingest leaves the previous tables)."""
        ...

    def quarantined(self, split: str) -> list[BadRow]: ...

    def value_counts(self, split: str) -> list[CountRow]:
        """(feature, text, number, n) over census_<split>, features and label: the one query
        (statistics.value_counts_sql) the baseline and the validate step's checks come from."""
        ...

    def export(self, split: str, destination: str) -> str:
        """census_<split> as CSV shards (with a header) in the folder `destination` (a path,
        or a gs:// URI on BigQuery), written by the warehouse, for steps that may not read
        it."""
        ...

    def batch_predictions(self, table: str) -> pd.DataFrame:
        """A Vertex AutoML batch prediction's output table in this dataset: the schema's
        columns as typed, and `prediction` (the predicted record as JSON text)."""
        ...


class Storage(Protocol):
    """Cloud Storage, or bucket folders: whole copies, staged folders, small texts."""

    def copy_tree(self, source: str, destination: str) -> str: ...

    def stage(
        self, files: dict[str, str | Path], texts: dict[str, str], destination: str
    ) -> str: ...

    def read_text(self, uri: str) -> str: ...

    def checksums(self, uri: str) -> dict[str, str]:
        """SHA-256 of each object at or under `uri`, by name relative to it ("" for `uri`
        itself when it is one object); {} when nothing is there."""
        ...


class Registry(Protocol):
    """Versions of the one registered model, with labels and aliases."""

    def versions(self) -> list[ModelVersion]: ...

    def find(self, label: str, value: str) -> ModelVersion | None: ...

    def alias(self, name: str) -> ModelVersion | None: ...

    def register(
        self, artifact_uri: str, labels: dict[str, str], container: str | None = None
    ) -> ModelVersion:
        """A new version over `artifact_uri`, served by this repository's serving image, or by
        `container` (a prebuilt server named by the model's export: Vertex AutoML's)."""
        ...

    def import_evaluation(
        self, version: str, evaluation: dict[str, Any], run_id: str, trainer: str
    ) -> None:
        """The run's evaluation (metrics.json) on the version: overall and per slice."""
        ...

    def has_evaluation(self, version: str) -> bool:
        """Whether the version holds an imported evaluation (a deploy resumed after its
        registration imports it then)."""
        ...

    def set_alias(self, name: str, version: str | None) -> None: ...

    def delete(self, version: str) -> None: ...

    def fetch(self, version: ModelVersion) -> str:
        """A local folder holding the version's artifact."""
        ...


class Endpoint(Protocol):
    """The prod endpoint: deployed versions and a traffic split over them."""

    def state(self) -> EndpointState: ...

    def deploy(self, version: str, traffic: dict[str, int], rollout: Rollout) -> None: ...

    def set_traffic(self, traffic: dict[str, int]) -> None: ...

    def undeploy(self, version: str) -> None: ...

    def predict(self, instances: list[dict[str, Any]], version: str) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class MonitoringConfig:
    """One description of model monitoring (promotion.steps.monitor): applied locally as a
    file, on Vertex as the ModelDeploymentMonitoringJob."""

    endpoint_id: str
    baseline_uri: str  # prod's copy of the run's baseline (promotion.domain.layout)
    features: list[str]
    skew_thresholds: dict[str, float]
    drift_thresholds: dict[str, float]
    sample_rate: float
    interval_hours: int
    alert_emails: list[str]
    kms_key: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(record: dict[str, Any]) -> MonitoringConfig:
        """As `as_dict` wrote it; a ValueError names the fields missing."""
        names = [f.name for f in fields(MonitoringConfig)]
        missing = [n for n in names if not isinstance(record, dict) or n not in record]
        if missing:
            raise ValueError(f"monitoring configuration without {', '.join(missing)}")
        return MonitoringConfig(**{n: record[n] for n in names})


class Monitoring(Protocol):
    """Model monitoring of the endpoint: skew and drift against the baseline, with alerts."""

    def apply(self, config: MonitoringConfig) -> str:
        """Create or update; returns "created" or "updated"."""
        ...

    def current(self) -> MonitoringConfig | None: ...


class ServingFigures(Protocol):
    """What each deployed version served: the canary's evidence (the local request log, or
    Cloud Monitoring's prediction metrics)."""

    def version_stats(self, start: datetime, end: datetime) -> dict[str, VersionStats]: ...


@dataclass(frozen=True)
class StepRecord:
    """What one step of one run recorded (docs/lineage.md lists the facts)."""

    run_id: str
    step: str
    recorded_at: datetime
    facts: dict[str, Any]


class RunLog(Protocol):
    """What each run's steps recorded: Vertex AI Experiments in the staging metadata store,
    or the staging tenant's DuckDB warehouse (docs/lineage.md)."""

    def record(self, run_id: str, step: str, facts: dict[str, Any]) -> None: ...

    def records(self) -> list[StepRecord]:
        """Every step record of every run; promotion.domain.runs.merge makes runs of them."""
        ...


class RequestLog(Protocol):
    """Every response of the endpoint, written before it returns (the local server's log:
    the stand-in for Vertex's request-response logging; docs/reliability.md)."""

    written: int
    failure: str | None  # the last write's error, while writes fail

    @property
    def lost(self) -> int:
        """Rows that never reached the file (waiting, or dropped with the backlog full)."""
        ...

    def record(
        self,
        *,
        status: int,
        latency_ms: float,
        version: str | None = None,
        instances: list[dict[str, Any]] | None = None,
        predictions: list[dict[str, Any]] | None = None,
        error: str | None = None,
    ) -> None: ...

    def refusal(self) -> str | None:
        """Why a prediction must be refused now (the log cannot take it), or None."""
        ...

    def problems(self) -> list[str]: ...

    def close(self) -> None: ...


class LoggedRequests(Protocol):
    """The request log as the monitor reads it: value counts of a window's traffic."""

    def exists(self) -> bool: ...

    def problems(self) -> list[str]:
        """Parts of the log every reader leaves out (a damaged segment), each named."""
        ...

    def value_counts(self, start: datetime, end: datetime) -> list[CountRow]:
        """(feature, text, number, n) of the successful requests logged in [start, end):
        the query the baseline came from (statistics.value_counts_sql)."""
        ...


class AlertLog(Protocol):
    """What the monitor found above its thresholds, kept for `mlops lineage`."""

    def record_alerts(
        self, window_end: datetime, alerts: list[dict[str, Any]], traffic: dict[str, int]
    ) -> None: ...

    def alerts(self, since: datetime) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Problem:
    """Something in the cloud a run needs that is not so, with the command that fixes it."""

    resource: str
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.resource}: {self.problem}; fix: {self.fix}"


class Preflight(Protocol):
    """What must hold in an env before a run: keys, grants, buckets, dataset (mlops doctor)."""

    def problems(self, platform: Platform, env: str) -> list[Problem]: ...
