"""The deploy core both targets share: traffic splits over model versions, as pure functions.

An endpoint's state is the traffic split {version: percent} over its deployed versions
(percentages sum to 100, or the endpoint is empty). Vertex AI and the local endpoint apply
the same plans; only the shells that apply them differ.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from kernel.names import CANDIDATE_LABEL, CHALLENGER, CHAMPION, DEPLOYING
from promotion.ports import EndpointState, ModelVersion

# How old an unmarked new version must be to count as orphaned: a deploy registers, imports
# its evaluation and marks the version within seconds, and on Vertex nothing stops a
# canary judgement from looking while another run's deploy is in that window.
ORPHAN_GRACE = timedelta(hours=1)


def canary_split(state: EndpointState, new: str, canary_percent: int) -> dict[str, int]:
    """The new version gets the canary share, the current main version the rest.

    Any earlier canary loses its traffic (a newer challenger replaces it). An empty
    endpoint, or a 100% canary, sends everything to the new version.
    """
    if not 1 <= canary_percent <= 100:
        raise ValueError(f"canary percent must be within 1..100, got {canary_percent}")
    main = state.serving
    if main is None or main == new or canary_percent == 100:
        return {new: 100}
    return {main: 100 - canary_percent, new: canary_percent}


def promote(version: str) -> dict[str, int]:
    return {version: 100}


def rollback(before: EndpointState, failed: str) -> dict[str, int]:
    """Traffic as it was before `failed` was deployed; the failed version gets none."""
    restored = {v: p for v, p in before.traffic.items() if v != failed and p > 0}
    if restored and sum(restored.values()) != 100:
        main = before.serving
        if main is None or main == failed:
            main = max(restored, key=lambda v: restored[v])
        restored[main] += 100 - sum(restored.values())
    return restored


def to_undeploy(deployed: tuple[str, ...], traffic: dict[str, int], keep: int) -> list[str]:
    """Versions to take off the endpoint: those without traffic, beyond the `keep` newest.

    Versions with traffic are never undeployed; `keep` counts every deployed version, so a
    rollback target stays warm while it is among the newest `keep`.
    """
    if keep < 1:
        raise ValueError(f"versions kept must be at least 1, got {keep}")
    newest = set(deployed[-keep:])
    return [v for v in deployed if traffic.get(v, 0) == 0 and v not in newest]


def to_delete(versions: list[ModelVersion], deployed: tuple[str, ...], retained: int) -> list[str]:
    """Registry versions to delete: beyond the `retained` newest, never one still deployed
    (the champion, a canary, the warm rollback target) nor one holding an alias. Oldest
    first; the registry then stays at about `retained` versions, whatever the runs."""
    if retained < 1:
        raise ValueError(f"versions retained must be at least 1, got {retained}")
    newest = sorted(versions, key=lambda v: int(v.version))
    keep = {v.version for v in newest[-retained:]} | set(deployed)
    return [v.version for v in newest if v.version not in keep and not v.aliases]


def orphaned(
    versions: list[ModelVersion],
    state: EndpointState,
    now: datetime,
    resuming: str | None = None,
) -> list[str]:
    """Versions a deploy registered and was killed before it marked them `deploying`: a
    run's candidate, newer than every version that is deployed or holds one of the
    platform's aliases, holding none itself, registered at least ORPHAN_GRACE ago, and not
    the candidate of the deploy resuming now (which deploys it). Oldest first. Nothing else
    would ever remove them: retention keeps the newest versions."""
    ours = {CHAMPION, CHALLENGER, DEPLOYING}
    placed = [
        int(v.version)
        for v in versions
        if ours & set(v.aliases) or v.version in state.deployed or state.traffic.get(v.version)
    ]
    newest = max(placed, default=0)
    return [
        v.version
        for v in sorted(versions, key=lambda v: int(v.version))
        if int(v.version) > newest
        and CANDIDATE_LABEL in v.labels
        and v.labels[CANDIDATE_LABEL] != resuming
        and (v.created is None or now - v.created >= ORPHAN_GRACE)
    ]
