"""The deploy core: canary split, promotion, rollback, undeploy beyond the versions kept."""

from datetime import UTC, datetime, timedelta

import pytest

from promotion.domain.traffic import (
    ORPHAN_GRACE,
    EndpointState,
    canary_split,
    orphaned,
    promote,
    rollback,
    to_undeploy,
)
from promotion.ports import ModelVersion


def test_first_version_takes_all_traffic():
    assert canary_split(EndpointState(), "1", 10) == {"1": 100}


def test_canary_split_gives_the_rest_to_the_current_main_version():
    state = EndpointState({"1": 100}, ("1",))
    assert canary_split(state, "2", 10) == {"1": 90, "2": 10}
    assert canary_split(state, "2", 100) == {"2": 100}


def test_a_newer_canary_replaces_the_older_one():
    state = EndpointState({"1": 90, "2": 10}, ("1", "2"))
    assert canary_split(state, "3", 20) == {"1": 80, "3": 20}


def test_promotion():
    assert promote("2") == {"2": 100}


def test_rollback_restores_the_split_before_the_failed_version():
    before = EndpointState({"1": 100}, ("1",))
    assert rollback(before, "2") == {"1": 100}
    assert rollback(EndpointState(), "1") == {}
    before = EndpointState({"1": 90, "2": 10}, ("1", "2"))
    assert rollback(before, "3") == {"1": 90, "2": 10}


def test_undeploy_only_versions_without_traffic_beyond_those_kept():
    deployed = ("1", "2", "3", "4")
    traffic = {"3": 90, "4": 10}
    assert to_undeploy(deployed, traffic, keep=2) == ["1", "2"]
    assert to_undeploy(deployed, {"4": 100}, keep=2) == ["1", "2"]  # 3 kept warm for rollback
    assert to_undeploy(deployed, {"4": 100}, keep=1) == ["1", "2", "3"]
    assert to_undeploy(deployed, {"1": 50, "4": 50}, keep=1) == ["2", "3"]  # never with traffic


@pytest.mark.parametrize(
    ("traffic", "deployed", "message"),
    [
        ({"1": 90}, ("1",), "must sum to 100"),
        ({"1": 100}, (), "not deployed"),
    ],
)
def test_bad_states_are_refused(traffic, deployed, message):
    with pytest.raises(ValueError, match=message):
        EndpointState(traffic, deployed)


def test_bad_canary_and_keep_are_refused():
    with pytest.raises(ValueError, match=r"within 1\.\.100"):
        canary_split(EndpointState(), "1", 0)
    with pytest.raises(ValueError, match="at least 1"):
        to_undeploy(("1",), {}, keep=0)


def test_retention_deletes_the_oldest_beyond_the_retained_never_deployed_or_aliased():
    from promotion.domain.traffic import to_delete
    from promotion.ports import ModelVersion

    versions = [ModelVersion(str(v), f"gs://m/{v}") for v in (12, 3, 1, 7, 10, 11, 2)]
    versions[2].aliases.append("champion")  # v1: an alias keeps it whatever its age
    assert to_delete(versions, deployed=("2",), retained=3) == ["3", "7"]
    assert to_delete(versions, deployed=(), retained=10) == []
    with pytest.raises(ValueError, match="at least 1"):
        to_delete(versions, deployed=(), retained=0)


NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
OLD = NOW - ORPHAN_GRACE


def version(v: str, *aliases: str, run: str | None = None, created=OLD) -> ModelVersion:
    labels = {"candidate": run or f"run-{v}"}
    return ModelVersion(v, f"gs://m/{v}", labels, list(aliases), created)


def test_a_version_registered_after_every_placed_one_and_never_marked_is_orphaned():
    serving = EndpointState({"2": 90, "3": 10}, ("1", "2", "3"))
    versions = [version("1"), version("2", "champion"), version("3", "challenger"), version("4")]
    assert orphaned(versions, serving, NOW) == ["4"]
    # the first deploy killed before marking: nothing placed at all
    assert orphaned([version("1", "default")], EndpointState(), NOW) == ["1"]  # Vertex's own


@pytest.mark.parametrize(
    "versions, state, resuming, why",
    [
        ([version("1"), version("2", "champion")], EndpointState({"2": 100}, ("2",)), None,
         "an old version kept for rollback is older than the champion"),
        ([version("1", "champion"), version("2", "deploying")], EndpointState({"1": 100}, ("1",)),
         None, "a marked version is the interrupted deploy's to finish"),
        ([version("1", "champion"), version("2")], EndpointState({"1": 90, "2": 10}, ("1", "2")),
         None, "a version with traffic is placed"),
        ([version("1", "champion"), version("2", created=NOW - timedelta(seconds=30))],
         EndpointState({"1": 100}, ("1",)), None,
         "registered seconds ago: another run's deploy may be about to mark it"),
        ([version("1", "champion"), version("2", run="run-7")], EndpointState({"1": 100}, ("1",)),
         "run-7", "the deploy resuming now deploys its own version"),
        ([version("1", "champion"), ModelVersion("2", "gs://m/2")],
         EndpointState({"1": 100}, ("1",)), None, "not a run's candidate: not ours to delete"),
    ],
)  # fmt: skip
def test_what_is_not_an_orphan(versions, state, resuming, why):
    assert orphaned(versions, state, NOW, resuming) == [], why


def test_an_unknown_registration_time_counts_as_old():
    state = EndpointState({"1": 100}, ("1",))
    assert orphaned([version("1", "champion"), version("2", created=None)], state, NOW) == ["2"]
