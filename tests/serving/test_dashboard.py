"""The local dashboard at `/` of `mlops serve`, as a person sees it in a real browser
(Debian's Chromium, as the on-device app's test): a workspace with a real local run that
deployed v1, a failed run after it, and two monitoring analyses of logged traffic."""

import io
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import browser as browser_helper
import pytest
import server_process
from monitoring_fixtures import census_test_frame, log_frame

from pipelines import params
from pipelines.runner import PipelineFailed, run_local
from settings import load_platform

pytestmark = pytest.mark.slow  # a local run, then the server and a browser

PROD = "census-ml-prod"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("dashboard")
    platform = load_platform()
    quick = {"training.num_boost_round": 150, "commit": "d45h60a4d"}
    run_local(params.build(platform, "staging", quick, local=True), root, out=io.StringIO())
    data = root / "data"
    data.mkdir()
    (data / "empty.csv").write_text("")
    broken = {"data.train_data_uri": str(data / "empty.csv")}
    with pytest.MonkeyPatch.context() as patch, pytest.raises(PipelineFailed):
        patch.setenv("MLOPS_DATA_DIR", str(data))  # recorded as failed, at ingest
        run_local(params.build(platform, "staging", broken, local=True), root, out=io.StringIO())
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    rows = census_test_frame().sample(6000, random_state=3).reset_index(drop=True)
    older, recent = rows.head(3000).copy(), rows.tail(3000).copy()
    recent["age"] += 10  # drifted: the second analysis alerts on age
    log_frame(root / PROD / "request_log", older, now - timedelta(minutes=90))
    log_frame(root / PROD / "request_log", recent, now - timedelta(minutes=30))
    for until in (now - timedelta(hours=1), now):
        subprocess.run(
            [sys.executable, "-m", "mlops.cli", "monitor", "--workspace", str(root),
             "--window", "1h", "--until", until.isoformat()],
            capture_output=True, check=False,
        )  # fmt: skip
    return root


@pytest.fixture
def page(workspace):
    if browser_helper.missing():
        pytest.fail(browser_helper.missing())
    proc, url = server_process.mlops_serve(workspace)
    driver = browser_helper.chromium()
    try:
        yield driver, url
    finally:
        driver.quit()
        server_process.stop(proc)


def test_the_dashboard_shows_versions_runs_the_last_run_and_monitoring(page):
    from selenium.webdriver.common.by import By

    driver, url = page
    driver.get(f"{url}/")
    assert driver.title == "census-income, local prod"
    assert "v1 100%" in driver.find_element(By.ID, "traffic").text
    version = driver.find_elements(By.CSS_SELECTOR, "table")[0].text
    assert "v1 100% champion" in version and "custom-trainer" in version
    # the pipeline's last run is the failed one: ingest red, nothing after it ran
    steps = {
        g.get_attribute("data-step"): g.get_attribute("data-status")
        for g in driver.find_elements(By.CSS_SELECTOR, "#dag g.step")
    }
    assert steps["ingest"] == "failed" and steps["validate"] == steps["deploy"] == "not run"
    runs = driver.find_elements(By.CSS_SELECTOR, "table")[1].find_elements(By.TAG_NAME, "tr")
    assert len(runs) == 3  # the header, the failed run, the deploying run
    assert runs[1].get_attribute("class") == "failed" and "FAILED at ingest" in runs[1].text
    assert "DataError" in runs[1].text and "DEPLOY" in runs[2].text
    # two analyses over time: the first quiet, the second alerting on age
    bars = driver.find_elements(By.CSS_SELECTOR, "#monitoring rect.analysis")
    assert [b.get_attribute("data-alerts") for b in bars] == ["0", "2"]
    monitored = driver.find_elements(By.CSS_SELECTOR, "table")[2].text
    assert "age (skew), age (drift)" in monitored and "3,000" in monitored
    # the deploying run's evaluation report opens from its link
    runs[2].find_element(By.LINK_TEXT, "evaluation").click()
    assert "ROC" in driver.page_source and driver.current_url.startswith(f"{url}/reports/")


def test_each_version_has_a_model_card_with_its_lineage(page):
    from selenium.webdriver.common.by import By

    driver, url = page
    driver.get(f"{url}/")
    driver.find_element(By.LINK_TEXT, "v1").click()
    assert driver.current_url == f"{url}/versions/1"
    boxes = driver.find_elements(By.CSS_SELECTOR, "#lineage g.link")
    assert [b.get_attribute("data-kind") for b in boxes] == [
        "commit", "run", "data", "model", "endpoint", "alerts",
    ]  # fmt: skip
    lineage = driver.find_element(By.ID, "lineage").text
    assert "d45h60a4d" in lineage and "train 32,561 rows" in lineage
    assert "100% of traffic" in lineage and "2 since deployed" in lineage
    text = driver.find_element(By.TAG_NAME, "body").text
    for heading in ("Intended use", "Data", "Metrics", "Slices", "Limits", "On-device parity"):
        assert heading in text
    assert "bundled:train" in text and "roc_auc" in text
    assert driver.find_element(By.ID, "parity").text.startswith("passed: ONNX predictions")
    assert len(driver.find_elements(By.CSS_SELECTOR, "#slices rect")) == 2  # race, sex
    driver.get(f"{url}/versions/9")
    assert "no version '9'" in driver.page_source
