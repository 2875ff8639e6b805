"""The full-data quality bar: the model the README promises, on the official test split."""

import pytest

from trainer import features
from trainer.hyperparameters import Hyperparameters
from trainer.model import train
from trainer.task import evaluate_model


@pytest.mark.slow
def test_full_training_clears_the_bar(census_train, census_test):
    model = train(census_train.frame, Hyperparameters(), data_sha256=census_train.sha256)
    metrics = evaluate_model(model, census_test)
    assert metrics["accuracy"] >= 0.870
    assert metrics["roc_auc"] >= 0.925
    assert metrics["log_loss"] <= 0.28
    assert len(features.labels(census_test.frame)) == metrics["count"]
