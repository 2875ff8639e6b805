"""The AutoML stand-in beside the custom trainer: its time budget, and its test metrics.

Trains the custom model (the repo's hyperparameters) once, then runs the stand-in
(trainer/automl.py: FLAML over LightGBM, trials scored on a 20% holdout of adult.data) at
each budget given, `repeats` times each (the search is timed, so two runs differ), and
scores every model on the official test split (adult.test), as the pipeline's evaluate
does. Usage: python bench/automl.py [BUDGET_SECONDS ...] [--repeats N]
"""

from __future__ import annotations

import argparse
import statistics
import time

from figures import record

from trainer import automl, features, loader
from trainer import evaluate as metrics_math
from trainer.hyperparameters import Hyperparameters
from trainer.model import CensusModel, train


def test_metrics(model: CensusModel, test) -> dict:
    frame = test.frame
    return metrics_math.evaluate(
        frame, features.labels(frame), model.predict_proba(frame), model.threshold
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("budgets", nargs="*", type=float, default=[30.0, 60.0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data, test = loader.load_census(split="train"), loader.load_census(split="test")
    started = time.perf_counter()
    custom = train(data.frame, Hyperparameters(), data_sha256=data.sha256)
    took = time.perf_counter() - started
    m = test_metrics(custom, test)
    print(
        f"{'trainer':<28} {'budget':>6} {'trials':>6} {'wall s':>6} {'holdout AUC':>11} "
        f"{'test AUC':>8} {'accuracy':>8} {'log loss':>8}"
    )
    print(
        f"{'custom (LightGBM, 1,200 r.)':<28} {'-':>6} {'-':>6} {took:6.1f} {'-':>11} "
        f"{m['roc_auc']:8.4f} {m['accuracy']:8.4f} {m['log_loss']:8.4f}"
    )
    figures: dict[str, float | int] = {"custom_test_auc": round(m["roc_auc"], 4)}
    for budget in args.budgets:
        aucs, trials = [], []
        for _ in range(args.repeats):
            started = time.perf_counter()
            model = automl.train_stand_in(
                data.frame, Hyperparameters(), budget, data_sha256=data.sha256, log=lambda _: None
            )
            took = time.perf_counter() - started
            search = model.metadata["automl_search"]
            m = test_metrics(model, test)
            aucs.append(m["roc_auc"])
            trials.append(search["trials"])
            print(
                f"{'automl stand-in (FLAML)':<28} {budget:6.0f} {search['trials']:6d} "
                f"{took:6.1f} {search['best_holdout_roc_auc']:11.4f} {m['roc_auc']:8.4f} "
                f"{m['accuracy']:8.4f} {m['log_loss']:8.4f}"
            )
        print(
            f"  budget {budget:.0f}s: median test ROC AUC {statistics.median(aucs):.4f} "
            f"over {args.repeats} searches"
        )
        figures[f"b{budget:.0f}_test_auc"] = round(statistics.median(aucs), 4)
        figures[f"b{budget:.0f}_trials"] = round(statistics.median(trials))
    record("automl", figures)


if __name__ == "__main__":
    main()
