"""Prod's change lease on Vertex, its rules alone (promotion/domain/lease.py); the calls
against the simulated Cloud Storage are tests/simulation/test_prod_lease.py."""

from datetime import UTC, datetime, timedelta

import pytest

from promotion.domain import lease

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def test_a_lease_survives_its_object():
    held = lease.taken("run r1: deploy (pid 7 on h)", NOW, 600)
    assert held.expires == NOW + timedelta(seconds=600)
    assert lease.parse(held.to_json()) == held


def test_renewing_moves_the_expiry_and_keeps_holder_and_start():
    held = lease.taken("mlops canary", NOW, 600)
    later = lease.renewed(held, NOW + timedelta(seconds=150), 600)
    assert (later.holder, later.since) == (held.holder, held.since)
    assert later.expires == NOW + timedelta(seconds=750)


@pytest.mark.parametrize(
    ("current", "now", "free"),
    [
        (None, NOW, True),  # nobody holds it (or the object is not a lease)
        (lease.taken("a", NOW, 600), NOW, False),
        (lease.taken("a", NOW, 600), NOW + timedelta(seconds=599), False),
        (lease.taken("a", NOW, 600), NOW + timedelta(seconds=600), True),  # lapsed: killed
        (lease.taken("a", NOW, 0), NOW, True),
    ],
)
def test_a_lease_may_be_taken_only_when_free_or_lapsed(current, now, free):
    assert lease.may_take(current, now) is free


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "[]",
        '{"holder": "a"}',
        '{"holder": "a", "since": "yesterday", "expires": "2026-12-04T12:00:00+00:00"}',
        '{"holder": "a", "since": "2026-12-04T12:00:00", "expires": "2026-12-04T12:10:00"}',
    ],
)
def test_an_object_that_is_not_a_lease_guards_nothing(text):
    assert lease.parse(text) is None  # a naive time could be any zone: not trusted either


def test_the_busy_line_names_holder_object_and_times():
    held = lease.taken("run r1: deploy (pid 7 on h)", NOW, 600)
    line = lease.busy(held, "gs://m/census-income/_lease/prod-change.json", 0.5)
    assert line == (
        "prod is being changed by run r1: deploy (pid 7 on h) (since 2026-12-04 12:00:00 UTC; "
        "its lease gs://m/census-income/_lease/prod-change.json runs to 12:10:00 UTC unless "
        "renewed); waited 0.5 s; try again when it is done"
    )


@pytest.mark.parametrize(
    ("expires_in", "remaining", "sleep"),
    [(600, 600, 5.0), (2, 600, 2.0), (600, 1.5, 1.5), (-3, 600, 0.05), (600, 0, 0.05)],
)
def test_a_waiter_looks_again_every_poll_or_when_the_lease_lapses(expires_in, remaining, sleep):
    held = lease.Lease("a", NOW, NOW + timedelta(seconds=expires_in))
    assert lease.next_look(held, NOW, 5.0, remaining) == sleep


@pytest.mark.parametrize(("text", "seconds"), [("", 600.0), (" ", 600.0), ("1", 1.0), ("0.5", 0.5)])
def test_a_lease_length_setting(text, seconds):
    assert lease.lease_length(text) == seconds


@pytest.mark.parametrize("text", ["ten", "0", "-5", "inf", "nan"])
def test_a_lease_length_that_is_not_one_is_refused(text):
    with pytest.raises(ValueError):
        lease.lease_length(text)
