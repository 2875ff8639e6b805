"""The deploy core: canary split, promotion, rollback, undeploy beyond the versions kept."""

import pytest

from promotion.domain.traffic import EndpointState, canary_split, promote, rollback, to_undeploy


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
