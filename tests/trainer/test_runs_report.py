"""The metrics-across-runs page: every run a row with its date and outcome, a failed run
marked with its error, each evaluation report linked."""

from pathlib import Path

from trainer import runs_report


def row(i: int, **over) -> dict:
    base = {
        "run_id": f"census-promotion-2026-12-0{i}-10-00-00-00000{i}",
        "short_id": f"00000{i}",
        "started": f"2026-12-0{i}T10:00:00+00:00",
        "commit": "abc",
        "train_rows": 32561,
        "accuracy": 0.87,
        "roc_auc": 0.92 + i / 1000,
        "outcome": "DEPLOY",
        "status": "succeeded",
        "error": None,
        "version": str(i),
        "cost_usd": 0.031,
        "report": None,
    }
    return {**base, **over}


def test_rows_show_dates_outcomes_failures_and_link_their_reports(tmp_path):
    report = tmp_path / "evaluation-1.html"
    report.write_text("<html></html>")
    failed = row(
        3,
        outcome="FAILED at ingest",
        status="failed",
        error="DataError: census data file not found: data/x.csv",
        accuracy=None,
        roc_auc=None,
        cost_usd=None,
        version=None,
    )
    page = runs_report.render([row(1, report=str(report)), row(2, outcome="KEEP"), failed])
    assert page.count("data:image/png;base64,") == 2
    assert "<td>2026-12-01 10:00</td>" in page and "<td>000001</td>" in page
    assert f'<a href="{report.resolve().as_uri()}">evaluation</a>' in page
    assert '<tr class="failed">' in page
    assert "FAILED at ingest: DataError: census data file not found: data/x.csv" in page
    newest_first = [page.index(f"<td>00000{i}</td>") for i in (3, 2, 1)]
    assert newest_first == sorted(newest_first)


def test_a_value_with_markup_is_escaped(tmp_path):
    page = runs_report.render([row(1, commit="<script>x</script>")])
    assert "<script>x" not in page and "&lt;script&gt;x" in page
    assert Path(runs_report.write(tmp_path / "r.html", [row(1)])).read_text() == runs_report.render(
        [row(1)]
    )
