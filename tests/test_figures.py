"""Every figure README.md and docs/ quote is the one its bench last recorded."""

import importlib.util
import os

from settings import REPO_ROOT

spec = importlib.util.spec_from_file_location("figures", REPO_ROOT / "bench" / "figures.py")
figures = importlib.util.module_from_spec(spec)
spec.loader.exec_module(figures)


def test_the_docs_quote_what_the_benches_recorded():
    recorded = figures.load()
    assert recorded, "no bench/results/*.json"
    assert figures.problems(recorded, figures.documents()) == []


def test_a_stale_or_unknown_quote_is_named_and_rewritten(tmp_path):
    figures.record("demo", {"cold_s": 12.3, "rows": 1000000}, root=tmp_path / "results")
    recorded = figures.load(tmp_path / "results")
    assert recorded["demo.cold_s"] == 12.3 and recorded["demo.rows"] == 1000000
    assert recorded["demo.machine"].startswith(f"{os.cpu_count()} cores")
    page = tmp_path / "page.md"
    page.write_text(
        "cold <!--fig:demo.cold_s-->16.2<!--/fig--> s over "
        "<!--fig:demo.rows-->1,000,000<!--/fig--> rows, <!--fig:demo.gone-->1<!--/fig-->\n"
    )
    gone = "page.md:1: demo.gone is not in bench/results (run its bench)"
    assert figures.problems(recorded, [page], root=tmp_path) == [
        "page.md:1: demo.cold_s is quoted as '16.2', the bench recorded '12.3' (make figures)",
        gone,
    ]
    assert figures.rewrite(recorded, [page]) == 1
    assert "<!--fig:demo.cold_s-->12.3<!--/fig-->" in page.read_text()
    assert figures.problems(recorded, [page], root=tmp_path) == [gone]
