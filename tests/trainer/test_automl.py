"""The AutoML stand-in: a real FLAML search over LightGBM in a time budget."""

import numpy as np
import pytest
from pydantic import ValidationError

from trainer import automl, loader, schema
from trainer.hyperparameters import Hyperparameters
from trainer.model import CensusModel


@pytest.fixture(scope="module")
def frame():
    return loader.load_census(split="train").frame.head(4000)


def test_a_searched_configuration_becomes_validated_hyperparameters():
    base = Hyperparameters(seed=7)
    params = automl.hyperparameters_for(
        {"num_leaves": 30.6, "learning_rate": 0.05, "num_boost_round": 99.4}, base
    )
    assert (params.num_leaves, params.num_boost_round, params.learning_rate) == (31, 99, 0.05)
    assert params.seed == 7 and params.max_bin == base.max_bin  # the rest kept
    with pytest.raises(ValidationError, match="learning_rate"):
        automl.hyperparameters_for({"learning_rate": 5.0}, base)


def test_trials_score_on_a_holdout_of_the_training_split_the_same_every_time():
    fit, hold = automl.holdout_split(1000, seed=3)
    again = automl.holdout_split(1000, seed=3)
    assert len(hold) == 200 and len(fit) == 800
    assert not set(fit) & set(hold) and set(fit) | set(hold) == set(range(1000))
    assert np.array_equal(fit, again[0]) and np.array_equal(hold, again[1])


def test_automl_on_vertex_learns_the_features_and_never_the_row_order():
    specs = automl.column_specs()
    assert list(specs) == list(schema.FEATURE_NAMES)
    assert specs["age"] == "numeric" and specs["native_country"] == "categorical"
    assert "line_number" not in specs and automl.TARGET_COLUMN == schema.LABEL


def test_the_stand_in_searches_then_trains_the_best_on_the_whole_split(frame, tmp_path):
    lines = []
    model = automl.train_stand_in(
        frame,
        Hyperparameters(),
        budget_seconds=3600,  # never binds: the trial count does, on any machine
        data_sha256="abc",
        log=lines.append,
        max_trials=4,
    )
    search = model.metadata["automl_search"]
    assert search["trials"] == 4 and search["max_trials"] == 4
    assert 0.8 < search["best_holdout_roc_auc"] <= 1
    assert model.metadata["trainer"].startswith("automl-stand-in (FLAML ")
    best = automl.hyperparameters_for(search["best"], Hyperparameters())
    assert model.metadata["hyperparameters"] == best.model_dump()
    assert model.booster.num_trees() == best.num_boost_round
    assert lines and all(line.startswith("automl: trial ") for line in lines)
    # an ordinary census model: saved, loaded and served like the custom trainer's
    loaded = CensusModel.load(model.save(tmp_path / "m"))
    probabilities = loaded.predict_proba(frame.head(50))
    assert probabilities.shape == (50,) and ((probabilities >= 0) & (probabilities <= 1)).all()


def test_a_search_whose_trials_all_fail_says_why(frame):
    one_class = frame[frame[schema.LABEL] == schema.NEGATIVE_CLASS].head(500)
    with pytest.raises(RuntimeError, match="the AutoML stand-in's search failed: trials failed"):
        automl.search(one_class, Hyperparameters(), budget_seconds=2, log=lambda _: None)


def test_a_search_bounded_by_trials_finds_the_same_model_every_time(frame):
    def run():
        return automl.search(frame, Hyperparameters(), 3600, lambda _: None, max_trials=3)

    first, again = run(), run()
    assert (first.trials, again.trials) == (3, 3)
    assert first.best == again.best
    assert first.best_holdout_roc_auc == again.best_holdout_roc_auc
