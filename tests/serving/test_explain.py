"""The on-device app's explanation is the model's own: TreeSHAP in the page's JavaScript
(serving/device_app/explain.js, run by Node here) over the compact trees the server hands
out (trainer/explain.py) gives LightGBM's `pred_contrib` for the same rows."""

import json
import shutil
import subprocess

import numpy as np
import pytest
from serving_fixtures import save_small_model

from serving.device_app import PAGE_DIR
from trainer import explain, features, loader, schema
from trainer.model import CensusModel

RUN = """
const { contributions } = require(process.argv[2]);
const input = JSON.parse(require("fs").readFileSync(process.argv[3]));
const rows = input.rows.map((r) => r.map((v) => (v === null ? NaN : v)));
process.stdout.write(JSON.stringify(rows.map((x) => Array.from(contributions(input.model, x)))));
"""


def rows_to_explain() -> np.ndarray:
    """Test rows (some with missing values), then each category and a missing value in
    each feature of a typical row, and values at and beyond the numeric ranges' ends."""
    frame = loader.load_census(split="test").frame.head(300)
    matrix = features.encode(frame)
    typical = matrix[0]
    extra = []
    for j, feature in enumerate(schema.FEATURES):
        values = range(len(feature.categories)) if feature.is_categorical else feature.plausible
        for value in [*values, np.nan, -1.0]:
            row = typical.copy()
            row[j] = value
            extra.append(row)
    return np.vstack([matrix, np.array(extra)])


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return CensusModel.load(save_small_model(tmp_path_factory.mktemp("explain") / "m"))


def node_contributions(tmp_path, compact: dict, rows: np.ndarray) -> np.ndarray:
    node = shutil.which("node")
    assert node, "node is needed (make installs it with the npm packages)"
    data = tmp_path / "in.json"
    listed = [[None if np.isnan(v) else float(v) for v in row] for row in rows]
    data.write_text(json.dumps({"model": compact, "rows": listed}))
    script = tmp_path / "run.js"
    script.write_text(RUN)
    done = subprocess.run(
        [node, str(script), str(PAGE_DIR / "explain.js"), str(data)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return np.array(json.loads(done.stdout))


@pytest.mark.slow  # runs the page's explainer in node
def test_the_pages_contributions_are_lightgbms(tmp_path, model):
    rows = rows_to_explain()
    assert np.isnan(rows).any() and (rows == -1).any()
    got = node_contributions(tmp_path, explain.compact(model.booster.dump_model()), rows)
    want = model.booster.predict(rows, pred_contrib=True)
    assert got.shape == want.shape == (len(rows), len(schema.FEATURES) + 1)
    assert np.abs(got - want).max() < 1e-9
    # ...and they add up to the model's raw score, as the page says
    raw = model.booster.predict(rows, raw_score=True)
    assert np.abs(got.sum(axis=1) - raw).max() < 1e-9


def test_the_compact_trees_refuse_what_they_cannot_explain(model):
    dump = model.booster.dump_model()
    with pytest.raises(ValueError, match="explanations are for binary models, not 'regression'"):
        explain.compact({**dump, "objective": "regression"})
    tree = dump["tree_info"][0]["tree_structure"]
    broken = json.loads(json.dumps(dump))
    broken["tree_info"][0]["tree_structure"] = {**tree, "decision_type": "!="}
    with pytest.raises(ValueError, match="unknown decision type '!='"):
        explain.compact(broken)


@pytest.mark.slow  # runs the page's explainer in node
def test_a_one_leaf_tree_contributes_its_value_to_the_base_only(tmp_path):
    compact = {
        "objective": "binary",
        "feature_names": list(schema.FEATURE_NAMES),
        "trees": [explain._tree({"leaf_value": 0.25})],
    }
    (phi,) = node_contributions(tmp_path, compact, np.zeros((1, len(schema.FEATURES))))
    assert phi[-1] == 0.25 and not phi[:-1].any()
