"""The canary verdict: promote the challenger to 100%, roll it back, or wait; with the reason.

Pure. Its evidence (VersionStats per version) comes through the Monitoring port: the local
request log, or Cloud Monitoring's time series on Google Cloud.
"""

from __future__ import annotations

from dataclasses import dataclass

from promotion.domain.traffic import promote, to_undeploy
from promotion.ports import EndpointState, VersionStats
from settings import CanaryCriteria


@dataclass(frozen=True)
class Verdict:
    action: str  # promote | rollback | wait
    reason: str


def no_traffic(version: str) -> VersionStats:
    """The figures of a version nothing was logged for in the window."""
    return VersionStats(version, 0, 0, None, None)


def judge(champion: VersionStats, challenger: VersionStats, c: CanaryCriteria) -> Verdict:
    if challenger.requests < c.min_requests:
        return Verdict(
            "wait",
            f"challenger v{challenger.version} served {challenger.requests} "
            f"requests in the window; {c.min_requests} needed to judge",
        )
    increase = challenger.error_rate - champion.error_rate
    if increase > c.max_error_rate_increase:
        return Verdict(
            "rollback",
            f"error rate {challenger.error_rate:.2%} vs champion "
            f"{champion.error_rate:.2%} (+{increase:.2%} > "
            f"{c.max_error_rate_increase:.2%} allowed)",
        )
    if champion.p95_ms and challenger.p95_ms:
        ratio = challenger.p95_ms / champion.p95_ms
        if ratio > c.max_latency_ratio:
            return Verdict(
                "rollback",
                f"p95 latency {challenger.p95_ms:.1f} ms is {ratio:.2f}x "
                f"the champion's {champion.p95_ms:.1f} ms (> "
                f"{c.max_latency_ratio}x allowed)",
            )
    latency = (
        f"p95 {challenger.p95_ms:.1f} ms vs {champion.p95_ms:.1f} ms"
        if champion.p95_ms and challenger.p95_ms
        else "latency not measured"
    )
    return Verdict(
        "promote",
        f"error rate {challenger.error_rate:.2%} vs "
        f"{champion.error_rate:.2%}, {latency}, over "
        f"{challenger.requests} requests",
    )


def plan(
    state: EndpointState, champion: str, challenger: str, verdict: Verdict, keep: int
) -> tuple[dict[str, int], list[str]]:
    """(new traffic split, versions to undeploy) for a verdict; 'wait' changes nothing."""
    if verdict.action == "promote":
        traffic = promote(challenger)
    elif verdict.action == "rollback":
        traffic = promote(champion)
    else:
        return state.traffic, []
    deployed = state.deployed
    if verdict.action == "rollback":
        deployed = tuple(v for v in deployed if v != challenger)
        return traffic, [challenger, *to_undeploy(deployed, traffic, keep)]
    return traffic, to_undeploy(deployed, traffic, keep)
