"""Concluding a canary (`mlops canary`): promote the challenger, roll it back, or wait."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from kernel import exit_codes
from kernel.errors import Outcome
from kernel.names import CHALLENGER, CHAMPION
from promotion.domain import canary
from promotion.ports import Endpoint, Registry, ServingFigures, VersionStats
from settings import CanaryCriteria


class NothingToJudge(Outcome):
    exit_code = exit_codes.NOTHING_TO_JUDGE


@dataclass(frozen=True)
class CanaryOutcome:
    champion: str
    challenger: str
    verdict: canary.Verdict
    traffic: dict[str, int]
    undeployed: list[str]


def conclude_canary(
    *,
    registry: Registry,
    endpoint: Endpoint,
    figures: ServingFigures,
    criteria: CanaryCriteria,
    versions_kept: int,
    window_end: datetime,
) -> CanaryOutcome:
    """Judge the challenger on the window's figures, then promote it, roll it back, or wait.

    Promotion moves the champion alias to the challenger; both verdicts clear the challenger
    alias and undeploy what no longer gets traffic; waiting changes nothing.
    """
    state = endpoint.state()  # first: a damaged endpoint is said, not taken for no canary
    champion, challenger = registry.alias(CHAMPION), registry.alias(CHALLENGER)
    if champion is None or challenger is None:
        raise NothingToJudge("no canary to judge: the endpoint has no challenger version")
    start = window_end - timedelta(minutes=criteria.window_minutes)
    stats = figures.version_stats(start, window_end)

    def of(version: str) -> VersionStats:
        return stats.get(version) or canary.no_traffic(version)

    verdict = canary.judge(of(champion.version), of(challenger.version), criteria)
    traffic, undeploy = canary.plan(
        state, champion.version, challenger.version, verdict, versions_kept
    )
    if verdict.action != "wait":
        endpoint.set_traffic(traffic)
        if verdict.action == "promote":
            registry.set_alias(CHAMPION, challenger.version)
        registry.set_alias(CHALLENGER, None)
        for version in undeploy:
            endpoint.undeploy(version)
    return CanaryOutcome(champion.version, challenger.version, verdict, traffic, undeploy)
