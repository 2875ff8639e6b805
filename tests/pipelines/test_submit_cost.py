"""A Vertex run's durations, from the task details the PipelineJob reports, and how often
`mlops submit --wait` asks for them."""

from itertools import islice

import pytest

from pipelines.submit import poll_delays, task_durations
from promotion.domain import cost
from settings import load_prices


def test_step_durations_come_from_the_task_details():
    details = [
        {"taskName": "census-promotion", "startTime": "2026-11-22T09:00:00Z",
         "endTime": "2026-11-22T09:30:00Z"},  # the pipeline's own root task: not a step
        {"taskName": "ingest", "startTime": "2026-11-22T09:00:05.5Z",
         "endTime": "2026-11-22T09:02:05.5Z"},
        {"taskName": "train", "startTime": "2026-11-22T09:03:00.000000001Z",
         "endTime": "2026-11-22T09:13:00.000000001Z"},
        {"taskName": "condition-1", "startTime": "2026-11-22T09:20:00Z",
         "endTime": "2026-11-22T09:29:00Z"},
        {"taskName": "deploy", "startTime": "2026-11-22T09:20:00Z"},  # still running
    ]  # fmt: skip
    assert task_durations(details) == {"ingest": 120.0, "train": 600.0}
    assert task_durations([]) == {}


def test_a_runs_record_prices_its_durations():
    facts = cost.run_facts(
        load_prices(),
        training_machine="n1-standard-4",
        durations={"ingest": 120.0, "train": 600.0},
        wall_seconds=1800.0,
        table_bytes=0,
        stored_bytes=0,
    )
    train, steps, fee = (line["usd"] for line in facts["cost"]["lines"][:3])
    assert train == pytest.approx(600 / 3600 * 0.218499)
    assert steps == pytest.approx(120 / 3600 * 0.154114)
    assert fee == 0.03
    assert facts["cost_usd"] == pytest.approx(facts["cost"]["total_usd"], abs=1e-6)
    assert facts["durations"] == {"ingest": 120.0, "train": 600.0}


def test_waiting_checks_soon_then_backs_off_to_every_10_seconds():
    assert list(islice(poll_delays(), 7)) == [1, 2, 4, 8, 10, 10, 10]
