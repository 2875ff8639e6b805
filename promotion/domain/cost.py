"""What a run and a month of prod cost: settings, the price table (envs/prices.toml) and
measured durations in, priced lines out.

Pure arithmetic, one line per thing counted with its quantity and unit price, so a reader
can redo every figure (docs/lineage.md). List prices, without discounts or free tiers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kernel.errors import UserError
from settings import MonitoringSettings, Prices, Rollout
from settings.model import Price

HOURS_PER_MONTH = 730  # how Google's price pages count a month
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
GB = 10**9  # Vertex and Cloud Storage price decimal gigabytes
TIB = 2**40
BIGQUERY_MIN_BYTES = 10 * 2**20  # an on-demand query bills at least 10 MB per table
# What a run asks of BigQuery (adapters/vertex/bigquery.py): per split, three CREATE TABLE AS
# SELECT (judged, typed, quarantine), the counts, the quarantine read and EXPORT DATA; then
# the validate step's value counts. Load jobs, extract jobs and DROP TABLE are free.
BIGQUERY_QUERIES_PER_RUN = 2 * 6 + 1
PIPELINE_MACHINE = "e2-standard-4"  # what Vertex AI Pipelines runs a lightweight component on
# A logged prediction: the instance (336 bytes of JSON on average over the test split), its
# prediction and the log row's own fields (time, ids, version, status): about 420 bytes.
LOGGED_BYTES_PER_PREDICTION = 420


class MissingPrice(UserError):
    """A machine type the settings use has no price in envs/prices.toml."""


@dataclass(frozen=True)
class Line:
    item: str
    quantity: float
    unit: str
    unit_usd: float

    @property
    def usd(self) -> float:
        return self.quantity * self.unit_usd


@dataclass(frozen=True)
class Estimate:
    title: str
    lines: tuple[Line, ...]
    notes: tuple[str, ...] = ()

    @property
    def total_usd(self) -> float:
        return sum(line.usd for line in self.lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "lines": [
                {
                    "item": x.item,
                    "quantity": x.quantity,
                    "unit": x.unit,
                    "unit_usd": x.unit_usd,
                    "usd": x.usd,
                }
                for x in self.lines
            ],
            "total_usd": self.total_usd,
            "notes": list(self.notes),
        }


def machine_price(table: dict[str, Price], machine: str, what: str) -> Price:
    if machine not in table:
        known = ", ".join(sorted(table)) or "none"
        raise MissingPrice(
            f"envs/prices.toml: no {what} price for machine type {machine!r} (priced: {known})"
        )
    return table[machine]


def run_cost(
    prices: Prices,
    *,
    training_machine: str,
    train_seconds: float,
    other_steps_seconds: float,
    bigquery_queries: int,
    table_bytes: int,
    stored_bytes: int,
) -> Estimate:
    """One pipeline run: the train step on its machine, the other steps on Vertex AI
    Pipelines' component machine, the run fee, BigQuery's queries and a month of keeping
    what the run wrote."""
    billed = bigquery_queries * max(BIGQUERY_MIN_BYTES, table_bytes)
    lines = (
        Line(
            f"training ({training_machine})",
            train_seconds / 3600,
            "hour",
            machine_price(prices.training_hour, training_machine, "training").usd,
        ),
        Line(
            f"pipeline steps ({PIPELINE_MACHINE})",
            other_steps_seconds / 3600,
            "hour",
            machine_price(prices.training_hour, PIPELINE_MACHINE, "training").usd,
        ),
        Line("pipeline run fee", 1, "run", prices.pipeline_run.usd),
        Line(
            f"BigQuery ({bigquery_queries} queries)",
            billed / TIB,
            "TiB",
            prices.bigquery_tib_scanned.usd,
        ),
        Line(
            "storage of the run's files", stored_bytes / GB, "GB-month", prices.storage_gb_month.usd
        ),
    )
    return Estimate("one run", lines)


def run_facts(
    prices: Prices,
    *,
    training_machine: str,
    durations: dict[str, float],
    wall_seconds: float,
    table_bytes: int,
    stored_bytes: int,
) -> dict[str, Any]:
    """What a run records of itself once it is over (the `run` step of docs/lineage.md):
    its steps' measured durations and the cost they imply."""
    estimate = run_cost(
        prices,
        training_machine=training_machine,
        train_seconds=durations.get("train", 0.0),
        other_steps_seconds=sum(s for name, s in durations.items() if name != "train"),
        bigquery_queries=BIGQUERY_QUERIES_PER_RUN,
        table_bytes=table_bytes,
        stored_bytes=stored_bytes,
    )
    return {
        "durations": {name: round(s, 2) for name, s in durations.items()},
        "wall_seconds": round(wall_seconds, 2),
        "cost": estimate.as_dict(),
        "cost_usd": round(estimate.total_usd, 6),
    }


def monthly_cost(
    prices: Prices,
    *,
    rollout: Rollout,
    monitoring: MonitoringSettings,
    predictions_per_day: int,
    stored_bytes: int,
    kms_keys: int,
) -> Estimate:
    """Prod for a month: every deployed version holds its own nodes (the idle rollback
    target as much as the champion), model monitoring analyzes the sampled predictions,
    which are also streamed to and kept in BigQuery; buckets and keys."""
    node = machine_price(prices.prediction_node_hour, rollout.machine_type, "prediction").usd
    sampled = predictions_per_day * DAYS_PER_MONTH * monitoring.sample_rate
    logged_gb = sampled * LOGGED_BYTES_PER_PREDICTION / GB
    nodes = rollout.versions_kept * rollout.min_replicas
    lines = (
        Line(
            f"endpoint: {rollout.versions_kept} deployed versions x {rollout.min_replicas} "
            f"{rollout.machine_type} node(s)",
            nodes * HOURS_PER_MONTH,
            "node hour",
            node,
        ),
        Line(
            f"model monitoring: {monitoring.sample_rate:.0%} of {predictions_per_day:,} "
            "predictions a day",
            logged_gb,
            "GB analyzed",
            prices.monitoring_gb_analyzed.usd,
        ),
        Line(
            "request-response logging (streamed)", logged_gb, "GB", prices.bigquery_streaming_gb.usd
        ),
        Line("request-response log kept", logged_gb, "GB-month", prices.bigquery_gb_month.usd),
        Line(
            "Cloud Storage (models, baselines, data)",
            stored_bytes / GB,
            "GB-month",
            prices.storage_gb_month.usd,
        ),
        Line("Cloud KMS keys", kms_keys, "key version-month", prices.kms_key_version_month.usd),
    )
    busiest = rollout.versions_kept * rollout.max_replicas * HOURS_PER_MONTH * node
    notes = (
        f"at max_replicas ({rollout.max_replicas}) all month the endpoint would cost "
        f"${busiest:,.2f}",
        f"monitoring analyses every {monitoring.interval_hours} h "
        f"({HOURS_PER_MONTH // monitoring.interval_hours} analyses a month): the interval sets "
        "how often, the sample rate how much",
        f"{prices.region} list prices as of {_oldest(prices)}; no discounts or free tiers",
    )
    return Estimate("prod, one month", lines, notes)


def _oldest(prices: Prices) -> str:
    dates = [
        p.as_of for p in (*prices.training_hour.values(), *prices.prediction_node_hour.values())
    ]
    dates += [
        getattr(prices, name).as_of
        for name in type(prices).model_fields
        if isinstance(getattr(prices, name), Price)
    ]
    return min(dates).isoformat()
