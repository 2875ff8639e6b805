import json

import numpy as np
import pytest

from kernel.errors import UserError
from trainer import features
from trainer.hyperparameters import Hyperparameters
from trainer.model import ARTIFACT_FORMAT, CensusModel, train

SMALL = Hyperparameters(num_boost_round=30, num_leaves=8)


@pytest.fixture(scope="module")
def small_model(census_train):
    frame = census_train.frame.head(4000)
    return train(frame, SMALL, data_sha256=census_train.sha256)


def test_artifact_round_trip_gives_identical_predictions(small_model, census_test, tmp_path):
    small_model.save(tmp_path / "model")
    loaded = CensusModel.load(tmp_path / "model")
    frame = census_test.frame.head(500)
    np.testing.assert_array_equal(loaded.predict_proba(frame), small_model.predict_proba(frame))
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    assert meta["format"] == ARTIFACT_FORMAT
    assert meta["libraries"]["lightgbm"] == "4.7.0"
    assert meta["training_data"]["rows"] == 4000
    assert len(meta["training_data"]["sha256"]) == 64
    assert meta["hyperparameters"]["num_boost_round"] == 30


def test_training_is_deterministic(census_train, small_model, census_test):
    again = train(census_train.frame.head(4000), SMALL, data_sha256=census_train.sha256)
    assert again.booster.model_to_string() == small_model.booster.model_to_string()
    frame = census_test.frame.head(200)
    np.testing.assert_array_equal(again.predict_proba(frame), small_model.predict_proba(frame))


def test_small_model_learns_something(small_model, census_test):
    from trainer import evaluate

    frame = census_test.frame
    m = evaluate.binary_metrics(features.labels(frame), small_model.predict_proba(frame))
    assert m["roc_auc"] > 0.85


def test_load_refuses_missing_or_foreign_artifacts(small_model, tmp_path):
    with pytest.raises(UserError, match=r"model\.json is missing"):
        CensusModel.load(tmp_path / "nothing")
    small_model.save(tmp_path / "m")
    meta_path = tmp_path / "m" / "model.json"
    meta = json.loads(meta_path.read_text())
    meta["schema"]["features"].reverse()
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(UserError, match="feature schema differs"):
        CensusModel.load(tmp_path / "m")
    meta_path.write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        CensusModel.load(tmp_path / "m")


def test_hyperparameters_are_validated():
    from trainer.options import parse_hyperparameters

    assert parse_hyperparameters({"learning_rate": "0.1"}).learning_rate == 0.1
    with pytest.raises(UserError, match=r"--learning-rate: Input should be greater than 0"):
        parse_hyperparameters({"learning_rate": "-1"})
    with pytest.raises(UserError, match=r"--num-leaves: Input should be a valid integer"):
        parse_hyperparameters({"num_leaves": "many"})
