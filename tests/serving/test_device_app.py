"""The on-device app in a real browser: Debian's Chromium (headless, driven by Selenium
through chromedriver) loads `mlops serve`'s /app/, the server is stopped, and the page
predicts rows of the test split with onnxruntime-web as the server did (docs/ondevice.md)."""

import json

import browser as browser_helper
import pytest
import server_process
from local_prod import ROLLOUT, evaluation_json, open_local_prod
from serving_fixtures import save_small_model

from adapters.local.storage import LocalStorage
from promotion.steps import staging
from promotion.steps.deploy import deploy_candidate
from trainer import loader, predict

pytestmark = pytest.mark.slow  # synthesizes the stacks or starts the simulated cloud

ROWS = 24


def deploy_with_on_device(workspace) -> str:
    """What decide stages and deploy registers, on the local backend, with the ONNX model."""
    candidate = workspace / "candidate"
    model = save_small_model(workspace / "trained")
    test_csv = loader.to_csv(loader.load_census(split="test").frame.head(200), workspace / "t.csv")
    on_device = workspace / "on_device"
    on_device.mkdir()
    parity = staging.export_on_device(model, test_csv, on_device)
    assert parity["passed"], parity["reason"]
    LocalStorage().stage(
        {"model": model, "model/model.onnx": on_device / "model.onnx",
         "baseline.json": test_csv, "train.csv": test_csv},
        {"smoke.json": json.dumps(staging.smoke_instances(test_csv)),
         "decision.json": json.dumps({"champion": None}), "on_device.json": json.dumps(parity),
         "metrics.json": evaluation_json(model, loader.load_census(split="test").frame.head(200))},
        str(candidate),
    )  # fmt: skip
    prod = open_local_prod(workspace)
    result = deploy_candidate(
        candidate_uri=str(candidate), run_id="run-1", commit="abc", registry=prod.registry,
        endpoint=prod.endpoint, storage=prod.storage, prod=prod.layout,
        rollout=ROLLOUT, log=lambda line: None,
    )  # fmt: skip
    (version,) = prod.registry.versions()
    assert version.labels["on-device"] == "model-onnx"
    return result.version


@pytest.fixture
def browser():
    if browser_helper.missing():
        pytest.fail(browser_helper.missing())
    driver = browser_helper.chromium()
    yield driver
    driver.quit()


def fill(driver, instance: dict) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    for name, value in instance.items():
        element = driver.find_element(By.ID, f"f-{name}")
        if element.tag_name == "select":
            Select(element).select_by_value("" if value is None else value)
        else:
            element.clear()
            if value is not None:
                element.send_keys(str(value))


def test_the_page_predicts_offline_what_the_server_predicts(tmp_path, browser):
    import httpx
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    version = deploy_with_on_device(tmp_path)
    instances = predict.frame_to_instances(loader.load_census(split="test").frame.head(400))
    rows = [i for i in instances if None in i.values()][:4] + instances[: ROWS - 4]
    assert any(None in row.values() for row in rows)  # missing values reach the page too
    proc, url = server_process.mlops_serve(tmp_path)
    try:
        served = httpx.post(f"{url}/predict", json={"instances": rows}).json()["predictions"]
        browser.get(f"{url}/app/")
        WebDriverWait(browser, 60).until(
            lambda d: (
                d.find_element(By.ID, "status").get_attribute("data-ready") == "true"
                or "could not" in d.find_element(By.ID, "status").text
            )
        )
        assert browser.find_element(By.ID, "status").get_attribute("data-ready") == "true", (
            browser.find_element(By.ID, "status").text
        )
        typical = see_a_typical_person_explained_and_confirmed_by_the_server(browser, tmp_path)
    finally:
        server_process.stop(proc)
    with pytest.raises(httpx.ConnectError):  # from here on the page has no server
        httpx.get(f"{url}/health")
    assert browser.find_element(By.ID, "version").text == version
    on_page = []
    for row in rows:
        fill(browser, row)
        before = browser.find_element(By.ID, "rows").text
        browser.find_element(By.ID, "predict").click()
        WebDriverWait(browser, 10).until(
            lambda d, before=before: d.find_element(By.ID, "rows").text != before
        )
        on_page.append(
            (
                float(browser.find_element(By.ID, "probability").text),
                browser.find_element(By.ID, "label").text,
            )
        )
    differences = [abs(p - s["probability"]) for (p, _), s in zip(on_page, served, strict=True)]
    assert max(differences) < 1e-5, differences
    assert [label for _, label in on_page] == [s["label"] for s in served]
    assert browser.find_element(By.ID, "server").text == (
        "server not reachable: predicted on this device only"
    )
    # a value the server would refuse is refused here too, in the server's words
    fill(browser, {**typical, "age": -5, "hours_per_week": 200})
    before = browser.find_element(By.ID, "rows").text
    browser.find_element(By.ID, "predict").click()
    WebDriverWait(browser, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#problems li"))
    problems = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#problems li")]
    assert problems == [
        "field age is -5, outside the plausible range 0 to 120",
        "field hours_per_week is 200, outside the plausible range 0 to 168",
    ]
    assert browser.find_element(By.ID, "probability").text == "-"
    assert browser.find_element(By.ID, "rows").text == before  # nothing predicted
    assert "bad" in browser.find_element(By.ID, "f-age").get_attribute("class")


def see_a_typical_person_explained_and_confirmed_by_the_server(driver, workspace) -> dict:
    """The form as a person first sees it: labelled fields holding the training data's
    typical row; predicted, explained by the model's own contributions, the server asked."""
    import pandas as pd
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from trainer import features, schema
    from trainer.model import CensusModel

    model = CensusModel.load(workspace / "trained")
    typical = model.metadata["typical"]
    label = driver.find_element(By.CSS_SELECTOR, "label[for=f-age]").text
    assert label.startswith("Age (years)") and "age: 0 to 120" in label
    assert (
        "Country of birth"
        in driver.find_element(By.CSS_SELECTOR, "label[for=f-native_country]").text
    )
    shown = {
        name: driver.find_element(By.ID, f"f-{name}").get_attribute("value") for name in typical
    }
    assert shown == {k: "" if v is None else str(v) for k, v in typical.items()}
    driver.find_element(By.ID, "predict").click()
    WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "server").text)
    assert driver.find_element(By.ID, "server").text.startswith("the server agrees: P = ")
    listed = [
        row.get_attribute("data-feature")
        for row in driver.find_elements(By.CSS_SELECTOR, "#contributions tr")
    ]
    matrix = features.encode(pd.DataFrame([typical]))
    phi = model.booster.predict(matrix, pred_contrib=True)[0][:-1]
    names = list(schema.FEATURE_NAMES)
    largest = sorted(range(len(names)), key=lambda j: -abs(phi[j]))[:5]
    assert listed == [names[j] for j in largest]  # the five LightGBM says moved it most
    assert "add up to" in driver.find_element(By.ID, "why").text
    return typical
