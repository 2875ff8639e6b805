"""Skew and drift: no alert on a fresh sample, alerts on exactly the features that shifted."""

import json
import subprocess
import sys
from datetime import datetime, timedelta

import numpy as np
import pytest
from monitoring_fixtures import baseline, census_test_frame, log_frame, profile_of

from adapters.local import request_log
from kernel import exit_codes
from kernel.atomic import write_json
from monitoring import monitor
from monitoring.profiles import profile
from settings import load_platform

PROD = load_platform()["prod"]
M = PROD.monitoring
SKEW = M.thresholds("skew")
DRIFT = M.thresholds("drift")
NOW = datetime(2026, 11, 21, 12, 0)


def alerted(results) -> set[tuple[str, str]]:
    return {(r.feature, r.measure) for r in results if r.alert}


def sample(seed: int, n: int = 5000):
    return census_test_frame().sample(n, random_state=seed).reset_index(drop=True)


def test_a_fresh_sample_of_the_training_distribution_does_not_alert():
    results = monitor.analyse(baseline(), profile_of(sample(0)), profile_of(sample(1)), SKEW, DRIFT)
    assert len(results) == 28 and alerted(results) == set()
    noisy = {"capital_gain", "capital_loss", "fnlwgt"}  # TFDV's own-range histograms
    assert max(r.distance for r in results if r.feature not in noisy) < 0.05


def test_ages_shifted_by_ten_years_alert_on_age_only():
    shifted = sample(2)
    shifted["age"] = shifted["age"] + 10
    results = monitor.analyse(baseline(), profile_of(shifted), profile_of(sample(3)), SKEW, DRIFT)
    assert alerted(results) == {("age", "skew"), ("age", "drift")}


def test_doubled_category_share_alerts_on_that_feature_only():
    doubled = sample(4)
    men = doubled.index[doubled["sex"] == "Male"]
    women = (doubled["sex"] == "Female").sum()
    doubled.loc[men[:women], "sex"] = "Female"
    results = monitor.analyse(baseline(), profile_of(doubled), None, SKEW, DRIFT)
    assert alerted(results) == {("sex", "skew")}
    (sex,) = [r for r in results if r.feature == "sex"]
    assert sex.where == "Male" and sex.distance == pytest.approx(0.33, abs=0.02)  # TFDV's tie


def test_the_logged_window_profiles_like_the_rows_it_logged(tmp_path):
    frame = sample(5, 2000)
    frame.loc[:9, "age"] = np.nan  # missing: left out, as in TFDV
    frame.loc[10:19, "age"] = 200.0  # above the training range: the window's own histogram
    frame.loc[20:29, "workclass"] = None
    path = tmp_path / "request_log"
    log_frame(path, frame, NOW - timedelta(minutes=5))
    log_frame(path, sample(6, 50), NOW - timedelta(hours=2))  # outside the window
    served = profile(request_log.LocalLoggedRequests(path), NOW - timedelta(hours=1), NOW)
    assert served["rows"] == 2000
    assert served["features"] == profile_of(frame)["features"]
    assert served["features"]["age"]["missing"] == 10
    assert served["features"]["workclass"]["missing"] == frame["workclass"].isna().sum() >= 10
    assert served["features"]["age"]["histogram"]["buckets"][-1][1] == 200.0


@pytest.mark.slow
def test_mlops_monitor_end_to_end(tmp_path):
    """A workspace as the pipeline leaves it; traffic drifts in the last hour; exit 1."""
    tenant = tmp_path / PROD.project_id
    write_json(tmp_path / "baseline.json", baseline())
    from adapters.local.monitoring import LocalMonitoring
    from kernel.workspace import LocalTenant
    from promotion.steps.monitor import monitoring_config

    LocalMonitoring(LocalTenant(tmp_path, PROD.project_id)).apply(  # as the monitor step does
        monitoring_config(
            endpoint_id="1",
            baseline_uri=str(tmp_path / "baseline.json"),
            monitoring=PROD.monitoring_settings(),
            kms_key="k",
        )
    )
    older, recent = sample(6, 3000), sample(7, 3000)
    recent["age"] += 10
    log_frame(tenant / "request_log", older, NOW - timedelta(minutes=90))
    log_frame(tenant / "request_log", recent, NOW - timedelta(minutes=30))

    def run(until: datetime):
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "mlops.cli",
                "monitor",
                "--workspace",
                str(tmp_path),
                "--window",
                "1h",
                "--until",
                until.isoformat(),
            ],
            capture_output=True,
            text=True,
        )

    proc = run(NOW)
    assert proc.returncode == 3, proc.stderr  # an alert (kernel/exit_codes.py)
    assert proc.stdout.splitlines()[0] == (
        "window: 1h ending 2026-11-21 12:00 UTC, 3,000 rows; previous window 3,000 rows; "
        "minimum 2,000"
    )
    assert proc.stderr.strip() == "mlops monitor: error: 2 alert(s): age (skew), age (drift)"
    age_skew = next(
        line for line in proc.stdout.splitlines() if line.startswith("age ") and "skew" in line
    )
    assert age_skew.endswith("ALERT")
    report = next(tenant.glob("reports/monitor-*.html")).read_text()
    assert report.count("data:image/png;base64,") == 2  # the two distributions that alerted
    summary = json.loads(next(tenant.glob("reports/monitor-*.json")).read_text())
    assert summary["rows"] == 3000 and summary["previous_rows"] == 3000
    assert summary["min_rows"] == 2000 and summary["drift_judged"] is True
    assert "3,000 rows; previous window 3,000 rows" in report
    # ...and the alerts are recorded for `mlops lineage` (alerts since a version's deploy)
    from adapters.local.monitoring import LocalAlertLog
    from kernel.workspace import LocalTenant

    recorded = LocalAlertLog(LocalTenant(tmp_path, PROD.project_id)).alerts(
        NOW - timedelta(days=3650)
    )
    assert sorted((a["feature"], a["measure"]) for a in recorded) == [
        ("age", "drift"),
        ("age", "skew"),
    ]
    assert all(a["distance"] > a["threshold"] for a in recorded)
    as_json = subprocess.run([*proc.args, "--json"], capture_output=True, text=True)
    assert as_json.returncode == 3, as_json.stderr  # the same verdict, as a document
    document = json.loads(as_json.stdout)
    assert document["alerts"] == ["age (skew)", "age (drift)"]
    assert document["window"] == {
        "end": "2026-11-21T12:00:00",
        "length": "1h",
        "rows": 3000,
        "previous_rows": 3000,
        "min_rows": 2000,
        "drift_judged": True,
    }
    assert len(document["results"]) == 28 and document["report"].endswith(".html")
    quiet = run(NOW - timedelta(minutes=60))  # the older window alone: nothing shifted
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    reports = len(list(tenant.glob("reports/monitor-*.json")))
    recorded_alerts = len(LocalAlertLog(LocalTenant(tmp_path, PROD.project_id)).alerts(NOW))
    empty = run(NOW + timedelta(days=1))
    assert empty.returncode == 6, empty.stderr  # nothing to judge, not an error
    assert empty.stderr.strip() == (
        "mlops monitor: not enough traffic (0 rows < 2,000) in the 1h window ending "
        "2026-11-22 12:00 UTC; nothing to judge (min_window_rows in the prod settings, or "
        "--min-rows)"
    )
    # A window of 1,000 rows is not judged either, and no alert is recorded from it...
    log_frame(tenant / "request_log", recent.head(1000), NOW + timedelta(hours=5, minutes=30))
    small = run(NOW + timedelta(hours=6))
    assert small.returncode == 6 and "(1,000 rows < 2,000)" in small.stderr
    assert len(list(tenant.glob("reports/monitor-*.json"))) == reports
    assert len(LocalAlertLog(LocalTenant(tmp_path, PROD.project_id)).alerts(NOW)) == recorded_alerts
    # ...unless the user lowers the minimum for this run: skew judged, drift not (no rows)
    lowered = subprocess.run([*small.args, "--min-rows", "500"], capture_output=True, text=True)
    assert lowered.returncode == 3, lowered.stderr
    assert "previous window 0 rows < 500: drift not judged" in lowered.stdout
    assert "drift" not in lowered.stderr
    # a damaged segment is named and left out; the verdict on the rest stands
    (tenant / "request_log" / "emptied.parquet").write_bytes(b"")
    again = run(NOW)
    assert again.returncode == 3, again.stderr
    assert "warning: " in again.stderr and "emptied.parquet: damaged request-log segment" in (
        again.stderr
    )
    # a garbled or missing baseline: one line naming it, exit 8 (damaged), no traceback
    (tmp_path / "baseline.json").write_text('{"format": ')
    garbled = run(NOW)
    assert garbled.returncode == exit_codes.DAMAGED and "Traceback" not in garbled.stderr
    assert "baseline.json: the skew baseline cannot be read (" in garbled.stderr
    (tmp_path / "baseline.json").unlink()
    missing = run(NOW)
    assert missing.returncode == exit_codes.DAMAGED
    assert "the skew baseline is missing" in missing.stderr


@pytest.mark.parametrize("seed", range(5))
def test_a_window_of_the_minimum_size_of_unchanged_traffic_does_not_alert(seed):
    """The prod minimum holds: fresh samples of min_window_rows rows stay under every
    threshold (skew and drift), where ~300 rows crossed education_num's."""
    n = M.min_window_rows
    results = monitor.analyse(
        baseline(), profile_of(sample(10 + seed, n)), profile_of(sample(20 + seed, n)), SKEW, DRIFT
    )
    assert alerted(results) == set()


def test_the_window_line_says_what_was_judged():
    end = datetime(2026, 12, 4, 9, 30)
    full = monitor.Windows(end, timedelta(hours=1), 2500, 2000, 2000)
    assert full.judges_drift and full.line() == (
        "window: 1h ending 2026-12-04 09:30 UTC, 2,500 rows; previous window 2,000 rows; "
        "minimum 2,000"
    )
    full.check()
    assert not monitor.Windows(end, timedelta(minutes=90), 2500, 1999, 2000).judges_drift
    with pytest.raises(monitor.NotEnoughTraffic, match=r"\(1,999 rows < 2,000\) in the 90m"):
        monitor.Windows(end, timedelta(minutes=90), 1999, 5000, 2000).check()


def test_windows_parse():
    assert monitor.parse_window("90m") == timedelta(minutes=90)
    with pytest.raises(Exception, match="not a duration"):
        monitor.parse_window("soon")


def test_the_monitor_and_the_vertex_job_share_their_thresholds():
    """One source of truth: the settings, through the same function."""
    from adapters.vertex.requests import monitoring_objectives
    from pipelines import params
    from promotion.steps.monitor import monitoring_config

    p = params.build(load_platform(), "staging", {}, local=False)
    config = monitoring_config(
        endpoint_id="1",
        baseline_uri="gs://x/run/baseline.json",
        monitoring=p.monitoring,
        kms_key=p.tenants.prod_kms_key,
    )
    objectives = monitoring_objectives(config)
    assert objectives["skew"]["data_source"] == "gs://x/run/train.csv"
    assert objectives["skew"]["skew_thresholds"] == SKEW
    assert objectives["drift"]["drift_thresholds"] == DRIFT


def test_a_damaged_segment_is_left_out_and_named_not_blinding_the_monitor(tmp_path):
    """A Parquet segment cut in half, or emptied, made every reader fail ("No magic bytes
    found"): the monitor and the canary saw nothing. Now the readers leave it out and
    `mlops monitor` names it, judging the rest."""
    path = tmp_path / "request_log"
    for seed in (30, 31):
        log_frame(path, sample(seed, 1500), NOW - timedelta(minutes=20 + seed))
    cut, emptied = sorted(path.glob("*.parquet"))[0], path / "zz-emptied.parquet"
    log_frame(path, sample(32, 500), NOW - timedelta(minutes=5))
    newest = max(path.glob("*.parquet"), key=lambda p: p.stat().st_mtime)
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])  # a full disk
    emptied.write_bytes(b"")
    requests = request_log.LocalLoggedRequests(path)
    problems = requests.problems()
    assert len(problems) == 2 and all("damaged request-log segment left out" in p for p in problems)
    assert any("0 bytes, too short to be Parquet" in p for p in problems)
    assert any("no Parquet magic bytes" in p for p in problems)
    served = profile(requests, NOW - timedelta(hours=1), NOW)
    assert served["rows"] == 3000  # the two whole segments, read as ever
    assert cut.exists() and request_log.segment_problem(cut) is None
