"""Undoing a deploy whose smoke test failed, and finishing one a crash interrupted.

A deploy marks its version `deploying` until the aliases move; whatever finds the mark
(the next deploy, `mlops canary`) completes that deploy or rolls it back here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from kernel.errors import PlatformRefused
from kernel.names import CANDIDATE_LABEL, CHALLENGER, CHAMPION, DEPLOYING
from promotion.domain import layout
from promotion.domain.traffic import orphaned, rollback
from promotion.ports import Endpoint, EndpointState, Registry, Storage
from trainer import automl, predict


def smoke_problems(endpoint: Endpoint, instances: list[dict], version: str) -> list[str]:
    """What is wrong with `version`'s answers to the smoke instances (none: it passed).
    A refused call (PlatformRefused) is raised: the model was never asked."""
    try:
        answers = [automl.as_label_probability(p) for p in endpoint.predict(instances, version)]
        return predict.check_predictions(instances, answers)
    except PlatformRefused:
        raise
    except Exception as exc:  # any other failure to answer is the model's: a failed test
        return [f"prediction failed: {exc}"]


def move_aliases(registry: Registry, version: str, traffic: dict[str, int]) -> None:
    """The last step of a deploy: champion at 100%, challenger otherwise; then unmarked."""
    if traffic.get(version) == 100:
        registry.set_alias(CHAMPION, version)
        registry.set_alias(CHALLENGER, None)
    else:
        registry.set_alias(CHALLENGER, version)
    registry.set_alias(DEPLOYING, None)


def roll_back(
    registry: Registry, endpoint: Endpoint, before: EndpointState, version: str
) -> dict[str, int]:
    """Traffic as `before` had it without `version`, the version off the endpoint and out of
    the registry (no orphan left behind); returns the restored split."""
    restored = rollback(before, version)
    now = endpoint.state()
    if restored and restored != now.traffic:  # none: it was the only model, undeploy clears
        endpoint.set_traffic(restored)
    if version in now.deployed:
        endpoint.undeploy(version)
    for alias in (DEPLOYING, CHALLENGER, CHAMPION):
        held = registry.alias(alias)
        if held is not None and held.version == version:
            registry.set_alias(alias, None)
    registry.delete(version)
    return restored


def finish_interrupted_deploy(
    *,
    registry: Registry,
    endpoint: Endpoint,
    storage: Storage,
    prod: layout.ProdLayout,
    log: Callable[[str], object] = print,
    resuming: str | None = None,
    now: datetime | None = None,
) -> str | None:
    """A deploy killed part way left its version marked `deploying`. Complete it (smoke
    test, aliases) when it serves traffic and passes; otherwise roll it back. Returns
    "completed", "rolled back", or None when nothing was interrupted or the marked version
    is run `resuming`'s candidate and never got traffic (that deploy, re-run, deploys it).
    A deploy killed after registering its version but before marking it left an orphan:
    it is deleted ("removed" when that is all there was to do)."""
    outcome = _finish_marked(registry, endpoint, storage, prod, log, resuming)
    state = endpoint.state()
    versions = registry.versions()
    removed = orphaned(versions, state, now or datetime.now(UTC), resuming)
    for version in removed:
        registry.delete(version)
    if removed:
        log(
            f"deleted version(s) {', '.join(removed)}: registered by a deploy killed before "
            "it marked them, never deployed"
        )
    return outcome or ("removed" if removed else None)


def _finish_marked(
    registry: Registry,
    endpoint: Endpoint,
    storage: Storage,
    prod: layout.ProdLayout,
    log: Callable[[str], object],
    resuming: str | None,
) -> str | None:
    marked = registry.alias(DEPLOYING)
    if marked is None:
        return None
    version, state = marked.version, endpoint.state()
    if marked.labels.get(CANDIDATE_LABEL) == resuming and not state.traffic.get(version, 0):
        log(f"resuming the deploy of version {version} (run {resuming})")
        return None
    if state.traffic.get(version, 0):
        where = prod.data(marked.labels.get("run", ""), layout.SMOKE)
        try:
            instances = json.loads(storage.read_text(where))
        except (FileNotFoundError, ValueError) as exc:
            problems = [f"no smoke instances at {where} ({exc})"]
        else:
            problems = smoke_problems(endpoint, instances, version)
    else:
        problems = ["it was killed before it got traffic"]
    if not problems:
        move_aliases(registry, version, state.traffic)
        log(f"an interrupted deploy of version {version} completed: smoke test passed")
        return "completed"
    restored = roll_back(registry, endpoint, state, version)
    log(
        f"an interrupted deploy of version {version} rolled back ({'; '.join(problems)}); "
        f"traffic {restored or 'nothing'}"
    )
    return "rolled back"
