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
    # and the rough durations beside commands ("# ~40 s") are within 2x of their benches
    assert figures.rough_problems(recorded, figures.documents()) == []


def test_a_rough_duration_far_from_its_bench_is_named(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        ".venv/bin/mlops simulate life   # ~3 min: the model's life\n"
        ".venv/bin/mlops simulate infra  # ~60 s: the stacks\n"
    )
    recorded = {"life.wall_s": 166.3, "plan_apply.wall_s": 5.9}
    assert figures.rough_problems(recorded, [page], root=tmp_path) == [
        "page.md:2: `mlops simulate infra` is said to take ~60 s; its bench measured 5.9 s "
        "(plan_apply.wall_s)"
    ]


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
