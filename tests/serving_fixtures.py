"""Small real models and instances for the serving and monitoring tests."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from trainer import loader, predict
from trainer.hyperparameters import Hyperparameters
from trainer.model import CensusModel, train


@cache
def small_model() -> CensusModel:
    data = loader.load_census(split="train")
    return train(
        data.frame.head(3000),
        Hyperparameters(num_boost_round=30, learning_rate=0.2),
        data_sha256=data.sha256,
    )


@cache
def sample_instances(n: int = 200) -> tuple:
    return tuple(predict.frame_to_instances(loader.load_census(split="test").frame.head(n)))


def save_small_model(folder: Path) -> Path:
    return small_model().save(folder)


def serving_workspace(tmp_path):
    """A local workspace whose prod endpoint serves a small model at 100%."""
    from local_prod import ROLLOUT, open_local_prod

    from adapters.local.storage import LocalStorage

    workspace = tmp_path / "ws"
    prod = open_local_prod(workspace)
    model = LocalStorage().copy_tree(str(save_small_model(tmp_path / "m")), str(tmp_path / "v1"))
    prod.registry.register(model, {"candidate": "1"})
    prod.endpoint.deploy("1", {"1": 100}, ROLLOUT)
    return workspace
