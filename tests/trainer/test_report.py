"""The evaluation report with one challenger and with several side by side."""

import numpy as np

from trainer import evaluate, features, loader, report


def results() -> dict[str, dict]:
    frame = loader.load_census(split="test").frame.head(3000)
    labels = features.labels(frame)
    rng = np.random.default_rng(0)
    good = np.clip(labels * 0.7 + rng.uniform(0, 0.3, len(frame)), 0, 1)
    noisy = np.clip(labels * 0.4 + rng.uniform(0, 0.6, len(frame)), 0, 1)
    return {
        "custom: custom trainer (LightGBM)": evaluate.evaluate(frame, labels, good, 0.5),
        "automl: automl-stand-in (FLAML 2.7.0)": evaluate.evaluate(frame, labels, noisy, 0.5),
    }


def test_several_challengers_share_the_curves_and_each_keeps_its_own_pictures(tmp_path):
    both = results()
    page = report.write_report(tmp_path / "r.html", both).read_text()
    # one table row per challenger, with its ROC AUC
    for label, metrics in both.items():
        assert f"<td style='text-align:left'>{label}</td>" in page
        assert f"<td>{metrics['roc_auc']:.4f}</td>" in page
        assert f"<h2>{label}</h2>" in page
    # ROC + calibration shared; a confusion matrix and a slice chart each
    assert page.count("data:image/png;base64,") == 2 + 2 * 2
    one = report.render(dict(list(both.items())[:1]))
    assert one.count("data:image/png;base64,") == 4 and "automl" not in one
