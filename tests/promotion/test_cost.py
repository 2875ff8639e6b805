"""The cost estimator's arithmetic on hand-computed cases, and settings moving it."""

import pytest

from kernel.errors import UserError
from promotion.domain import cost
from settings import MonitoringSettings, Prices, Rollout, load_prices

DATE, SOURCE = "2025-06-01", "https://cloud.google.com/pricing"


def price(usd: float) -> dict:
    return {"usd": usd, "as_of": DATE, "source": SOURCE}


PRICES = Prices.model_validate(
    {
        "region": "us-central1",
        "training_hour": {"n1-standard-4": price(1.0), "e2-standard-4": price(0.5)},
        "prediction_node_hour": {"n1-standard-2": price(0.1)},
        "pipeline_run": price(0.03),
        "monitoring_gb_analyzed": price(3.5),
        "bigquery_tib_scanned": price(6.25),
        "bigquery_gb_month": price(0.02),
        "bigquery_streaming_gb": price(0.05),
        "storage_gb_month": price(0.02),
        "kms_key_version_month": price(0.06),
    }
)
ROLLOUT = Rollout(
    canary_percent=10,
    machine_type="n1-standard-2",
    min_replicas=1,
    max_replicas=2,
    versions_kept=2,
    versions_retained=10,
)
MONITORING = MonitoringSettings(
    emails=["a@example.com"],
    skew_threshold=0.1,
    drift_threshold=0.1,
    sample_rate=0.8,
    interval_hours=1,
)


def run(**change) -> cost.Estimate:
    args = {
        "training_machine": "n1-standard-4",
        "train_seconds": 1800,
        "other_steps_seconds": 720,
        "bigquery_queries": 4,
        "table_bytes": 5_000_000,
        "stored_bytes": 2 * 10**9,
    }
    return cost.run_cost(PRICES, **{**args, **change})


def month(rollout=ROLLOUT, monitoring=MONITORING, **change) -> cost.Estimate:
    args = {"predictions_per_day": 50_000, "stored_bytes": 10**9, "kms_keys": 3}
    return cost.monthly_cost(PRICES, rollout=rollout, monitoring=monitoring, **{**args, **change})


def test_a_run_by_hand():
    usd = [line.usd for line in run().lines]
    # half an hour of training at $1, 12 minutes of steps at $0.50, the $0.03 fee, 4 queries
    # at BigQuery's 10 MB minimum (4 x 10 MiB of a TiB at $6.25), 2 GB kept a month at $0.02
    assert usd == pytest.approx([0.5, 0.1, 0.03, 4 * 10 * 2**20 / 2**40 * 6.25, 0.04])
    assert run().total_usd == pytest.approx(0.670238418579, abs=1e-12)
    # above the minimum a query bills what it scans
    assert run(table_bytes=2**40).lines[3].quantity == 4


def test_prod_for_a_month_by_hand():
    m = month()
    # 2 deployed versions x 1 node x 730 h at $0.10; 50,000 a day x 730/24 days x 0.8 x 420 B
    # = 0.511 GB analyzed at $3.50, streamed at $0.05 and kept at $0.02; 1 GB at $0.02; 3 keys
    assert [x.usd for x in m.lines] == pytest.approx([146.0, 1.7885, 0.02555, 0.01022, 0.02, 0.18])
    assert m.total_usd == pytest.approx(148.02427)
    assert "$292.00" in m.notes[0]  # at max replicas all month


def test_settings_move_the_figures_as_they_should():
    base = month()
    two_nodes = month(rollout=ROLLOUT.model_copy(update={"min_replicas": 2}))
    assert two_nodes.lines[0].usd == pytest.approx(2 * base.lines[0].usd)
    one_version = month(rollout=ROLLOUT.model_copy(update={"versions_kept": 1}))
    assert one_version.lines[0].usd == pytest.approx(base.lines[0].usd / 2)
    half = month(monitoring=MONITORING.model_copy(update={"sample_rate": 0.4}))
    for i in (1, 2, 3):  # monitoring and its log halve; nothing else moves
        assert half.lines[i].usd == pytest.approx(base.lines[i].usd / 2)
    assert half.lines[0].usd == base.lines[0].usd
    hourly, daily = month(), month(monitoring=MONITORING.model_copy(update={"interval_hours": 24}))
    assert hourly.total_usd == daily.total_usd and "30 analyses a month" in daily.notes[1]
    assert run(train_seconds=3600).lines[0].usd == pytest.approx(1.0)


def test_a_machine_without_a_price_is_named():
    with pytest.raises(UserError, match="no training price for machine type 'a2-highgpu-1g'"):
        run(training_machine="a2-highgpu-1g")
    with pytest.raises(UserError, match="no prediction price for machine type 'n1-standard-8'"):
        month(rollout=ROLLOUT.model_copy(update={"machine_type": "n1-standard-8"}))


def test_the_repository_price_table_prices_every_machine_the_settings_use():
    from settings import load_platform

    prices, platform = load_prices(), load_platform()
    assert platform["staging"].pipeline.training_machine_type in prices.training_hour
    assert cost.PIPELINE_MACHINE in prices.training_hour
    assert platform["prod"].serving.rollout.machine_type in prices.prediction_node_hour
    assert month().as_dict()["total_usd"] == pytest.approx(month().total_usd)


def test_a_bad_price_table_names_the_file_and_field(tmp_path):
    from settings.files import load_prices as load

    (tmp_path / "prices.toml").write_text('region = "us-central1"\n[pipeline_run]\nusd = -1\n')
    with pytest.raises(UserError, match=r"prices.toml: .*pipeline_run"):
        load(tmp_path)
