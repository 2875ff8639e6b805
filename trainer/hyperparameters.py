"""Training hyperparameters, validated; defaults were chosen by 3-fold CV on adult.data only.

The search (40 random configurations, then a local refinement) never looked at adult.test,
so the test metrics stay an honest estimate. See docs/model.md.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Hyperparameters(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    learning_rate: float = Field(0.02, gt=0, le=1, description="shrinkage per boosting round")
    num_boost_round: int = Field(1200, ge=1, le=100_000, description="boosting rounds")
    num_leaves: int = Field(24, ge=2, le=131_072, description="leaves per tree")
    min_child_samples: int = Field(20, ge=1, description="minimum rows in a leaf")
    feature_fraction: float = Field(0.5, gt=0, le=1, description="features sampled per tree")
    bagging_fraction: float = Field(1.0, gt=0, le=1, description="rows sampled per round")
    lambda_l2: float = Field(5.0, ge=0, description="L2 regularisation on leaf values")
    cat_smooth: float = Field(50.0, ge=0, description="smoothing of categorical splits")
    min_data_per_group: int = Field(200, ge=1, description="minimum rows per category group")
    max_cat_threshold: int = Field(32, ge=1, description="max categories on one side of a split")
    cat_l2: float = Field(1.0, ge=0, description="L2 regularisation of categorical splits")
    max_bin: int = Field(255, ge=2, le=65_535, description="histogram bins for numeric features")
    seed: int = Field(42, ge=0, description="random seed; same seed and data, same model")
    num_threads: int = Field(2, ge=1, le=256, description="training threads (part of determinism)")

    def lightgbm_params(self) -> dict:
        params = self.model_dump(exclude={"num_boost_round"})
        params.update(
            objective="binary",
            verbose=-1,
            deterministic=True,
            force_row_wise=True,
            bagging_freq=1 if self.bagging_fraction < 1 else 0,
        )
        return params
