"""Prod's deploy: copy the candidate in, register a version, canary it, smoke-test it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from kernel.errors import Failed, PlatformRefused, ServingFailed, UserError
from kernel.names import (
    CANDIDATE_LABEL,
    CHAMPION,
    CUSTOM_TRAINER,
    DEPLOYING,
    ON_DEVICE_LABEL,
    ON_DEVICE_LABEL_VALUE,
    trainer_label,
)
from promotion.domain import checksums, layout
from promotion.domain.decision import champion_moved, compared_with
from promotion.domain.traffic import canary_split, to_delete, to_undeploy
from promotion.ports import Endpoint, EndpointState, ModelVersion, Registry, Storage
from promotion.steps.rollback import (
    finish_interrupted_deploy,
    move_aliases,
    roll_back,
    smoke_problems,
)
from settings import Rollout
from trainer import automl
from trainer.model import METADATA_FILE


class DeployFailed(UserError):
    """The new version failed its smoke test (traffic rolled back), or the test could not run
    because the platform refused the call (nothing undone: the deploy is resumable)."""


class ChampionChanged(Failed):
    """Prod's champion is not the one the candidate was compared with."""


@dataclass(frozen=True)
class Deployment:
    """What a deploy did: the deploy step's output artifact and its run record."""

    version: str
    traffic: dict[str, int]
    smoke: str  # "passed", or "skipped: already serving"
    baseline_uri: str  # the run's baseline in prod's data bucket: monitoring's skew source
    undeployed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # registry versions beyond the retained

    def as_dict(self) -> dict:
        return asdict(self)


def deploy_candidate(
    *,
    candidate_uri: str,
    run_id: str,
    commit: str,
    registry: Registry,
    endpoint: Endpoint,
    storage: Storage,
    prod: layout.ProdLayout,
    rollout: Rollout,
    log: Callable[[str], object] = print,
    approved: dict[str, str] | None = None,
) -> Deployment:
    """Copy into prod, register a version, canary it, smoke-test it, tidy the endpoint.
    `approved` (promotion = "approval"): the candidate files' SHA-256 as approved; the prod
    copy must match them, or nothing is registered.

    Idempotent: the version is found by its candidate label, so a re-run neither registers
    a second version nor deploys twice. A failed smoke test restores the traffic as it was,
    takes the new version off the endpoint, leaves the aliases alone, and fails the step.
    """
    candidate = layout.Candidate(candidate_uri)
    baseline_uri = prod.data(run_id, layout.BASELINE)
    finish_interrupted_deploy(
        registry=registry, endpoint=endpoint, storage=storage, prod=prod, log=log, resuming=run_id
    )
    version = registry.find(CANDIDATE_LABEL, run_id)
    if version is not None:  # a deploy resumed after registering: imported yet?
        _import_evaluation(registry, storage, candidate, version, run_id)
    before: EndpointState = endpoint.state()
    if version is not None and before.traffic.get(version.version):
        log(f"version {version.version} already serves {before.traffic}; nothing to deploy")
        return Deployment(version.version, before.traffic, "skipped: already serving", baseline_uri)
    _require_same_champion(storage, candidate, registry)
    if version is None:
        version = _register(candidate, run_id, commit, registry, storage, prod, approved)
        log(f"registered version {version.version} from {version.artifact_uri}")
        _import_evaluation(registry, storage, candidate, version, run_id)
    # From here until the aliases move, the version is marked: a deploy killed part way is
    # recognised by the next deploy or `mlops canary`, which completes or rolls it back.
    registry.set_alias(DEPLOYING, version.version)
    traffic = canary_split(before, version.version, rollout.canary_percent)
    _deploy(registry, endpoint, before, version.version, traffic, rollout)
    log(f"deployed version {version.version}: traffic {traffic}")
    instances = json.loads(storage.read_text(candidate.file(layout.SMOKE)))
    _smoke_test(registry, endpoint, before, version.version, traffic, instances)
    log(f"smoke test passed on {len(instances)} instances")
    move_aliases(registry, version.version, traffic)
    after = endpoint.state()
    undeployed = to_undeploy(after.deployed, after.traffic, rollout.versions_kept)
    for old in undeployed:
        endpoint.undeploy(old)
    if undeployed:
        log(f"undeployed versions without traffic: {', '.join(undeployed)}")
    deployed = tuple(v for v in after.deployed if v not in undeployed)
    deleted = to_delete(registry.versions(), deployed, rollout.versions_retained)
    for old in deleted:
        registry.delete(old)
    if deleted:
        log(f"deleted registry versions beyond the {rollout.versions_retained} retained: "
            f"{', '.join(deleted)}")  # fmt: skip
    return Deployment(version.version, traffic, "passed", baseline_uri, undeployed, deleted)


def _register(
    candidate: layout.Candidate,
    run_id: str,
    commit: str,
    registry: Registry,
    storage: Storage,
    prod: layout.ProdLayout,
    approved: dict[str, str] | None = None,
) -> ModelVersion:
    """The candidate's model and data copied into prod, and a version registered over them
    (once the copy is what was approved, where it was)."""
    model_uri = storage.copy_tree(candidate.file(layout.MODEL), prod.model(run_id))
    for name in layout.COPIED_DATA:
        storage.copy_tree(candidate.file(name), prod.data(run_id, name))
    if approved is not None:
        _require_approved_copy(approved, storage, model_uri, prod, run_id, candidate)
    labels = {CANDIDATE_LABEL: run_id, "commit": commit, "run": run_id}
    if _has_on_device(storage, candidate):
        labels[ON_DEVICE_LABEL] = ON_DEVICE_LABEL_VALUE  # model/model.onnx, beside it
    model_json = json.loads(storage.read_text(candidate.file(f"{layout.MODEL}/{METADATA_FILE}")))
    labels["trainer"] = trainer_label(model_json.get("trainer", CUSTOM_TRAINER))
    artifacts, container = model_uri, None
    if model_json.get("format") == automl.VERTEX_AUTOML_FORMAT:  # AutoML's export, its server
        artifacts = f"{model_uri.rstrip('/')}/{model_json['export']}"
        environment = storage.read_text(f"{artifacts}/{automl.EXPORT_ENVIRONMENT}")
        container = automl.export_container(environment, artifacts)
    return registry.register(artifacts, labels=labels, container=container)


def _import_evaluation(
    registry: Registry,
    storage: Storage,
    candidate: layout.Candidate,
    version: ModelVersion,
    run_id: str,
) -> None:
    """The run's evaluation on the version, unless it holds one: the console shows its
    figures as for a model Vertex evaluated itself."""
    if registry.has_evaluation(version.version):
        return
    evaluation = json.loads(storage.read_text(candidate.file(layout.METRICS)))
    trainer = version.labels.get("trainer", trainer_label(CUSTOM_TRAINER))
    registry.import_evaluation(version.version, evaluation, run_id, trainer)


def _require_approved_copy(
    approved: dict[str, str],
    storage: Storage,
    model_uri: str,
    prod: layout.ProdLayout,
    run_id: str,
    candidate: layout.Candidate,
) -> None:
    """What prod copied must be, byte for byte, what was approved (the SHA-256 of each)."""
    copied = {f"{layout.MODEL}/{n}": sha for n, sha in storage.checksums(model_uri).items()}
    for name in layout.COPIED_DATA:
        data = storage.checksums(prod.data(run_id, name))
        if "" in data:
            copied[name] = data[""]
    wanted = {
        name: sha
        for name, sha in approved.items()
        if name.startswith(f"{layout.MODEL}/") or name in layout.COPIED_DATA
    }
    changed = checksums.differences(wanted, copied)
    if changed:
        raise UserError(
            f"{candidate.uri}: not the candidate that was approved; nothing registered: "
            + "; ".join(changed)
        )


def _deploy(
    registry: Registry,
    endpoint: Endpoint,
    before: EndpointState,
    version: str,
    traffic: dict[str, int],
    rollout: Rollout,
) -> None:
    """Raises DeployFailed if the platform could not finish the deploy (nothing undone:
    re-running the same deploy resumes it) or the version's server failed (rolled back)."""
    try:
        endpoint.deploy(version, traffic, rollout)
    except PlatformRefused as exc:
        raise DeployFailed(
            f"{exc}. Nothing was rolled back: version {version} stays registered and marked "
            f"'{DEPLOYING}', the endpoint serves {before.traffic or 'nothing'} as before; "
            "re-run this deploy to resume it"
        ) from None
    except ServingFailed as exc:
        restored = roll_back(registry, endpoint, before, version)
        raise DeployFailed(f"{exc}; rolled back: traffic {restored or 'nothing'}") from None


def _smoke_test(
    registry: Registry,
    endpoint: Endpoint,
    before: EndpointState,
    version: str,
    traffic: dict[str, int],
    instances: list[dict],
) -> None:
    """Raises DeployFailed if `version` answers wrongly (rolled back) or cannot be asked
    (left as it is, marked, for the next deploy or `mlops canary` to finish)."""
    try:
        problems = smoke_problems(endpoint, instances, version)
    except PlatformRefused as exc:
        raise DeployFailed(
            f"the smoke test of version {version} could not run: {exc}. Nothing was "
            f"rolled back: version {version} stays registered at {traffic} and marked "
            f"'{DEPLOYING}'; once the call is allowed, the next deploy or `mlops canary` "
            "smoke-tests it and completes or rolls it back"
        ) from None
    if problems:
        restored = roll_back(registry, endpoint, before, version)
        raise DeployFailed(
            f"smoke test of version {version} failed ({'; '.join(problems)}); "
            f"traffic rolled back to {restored or 'nothing'}"
        )


def _require_same_champion(
    storage: Storage, candidate: layout.Candidate, registry: Registry
) -> None:
    where = candidate.file(layout.DECISION)
    try:
        compared = compared_with(json.loads(storage.read_text(where)))
    except (FileNotFoundError, ValueError) as exc:
        raise DeployFailed(f"{where}: cannot tell which champion was compared ({exc})") from None
    current = registry.alias(CHAMPION)
    moved = champion_moved(compared, current.version if current else None)
    if moved:
        raise ChampionChanged(moved)


def _has_on_device(storage: Storage, candidate: layout.Candidate) -> bool:
    try:
        return bool(json.loads(storage.read_text(candidate.file(layout.ON_DEVICE)))["passed"])
    except FileNotFoundError:
        return False  # staged before on-device models, or by a run without one
