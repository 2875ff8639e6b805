"""The dashboard's pages: pictures that say what the data says, every value escaped."""

from promotion.domain.runs import STEP_EDGES, STEP_ORDER
from serving import pages

NODES = list(STEP_ORDER[:-1])


def test_the_dag_is_drawn_in_columns_by_longest_path():
    column = pages.layers(list(STEP_EDGES), NODES)
    assert column["ingest"] == 0 and column["validate"] == 1
    assert column["train"] == column["automl"] == 2
    assert column["evaluate"] == column["export"] == 3
    assert column["decide"] == 4 and column["deploy"] == column["approve"] == 5
    assert column["monitor"] == 6
    svg = pages.dag_svg(NODES, list(STEP_EDGES), {"ingest": "failed"})
    assert svg.count('class="step"') == len(NODES) and svg.count("<line") == len(STEP_EDGES)
    assert 'data-step="ingest" data-status="failed"' in svg
    assert 'data-step="monitor" data-status="not run"' in svg


def test_the_traffic_bar_has_a_segment_per_version_sized_by_its_share():
    svg = pages.traffic_svg({"2": 10, "1": 90})
    assert svg.index("v1 90%") < svg.index("v2 10%")  # in version order
    assert 'width="540.0"' in svg and 'width="60.0"' in svg
    assert "no traffic" in pages.traffic_svg({})


def test_monitoring_over_time_draws_each_analysis_and_says_when_there_is_none():
    analyses = [
        {"window_end": "2026-12-04T10:00:00", "rows": 3000, "alerts": []},
        {"window_end": "2026-12-04T11:00:00", "rows": 2500, "alerts": ["age (skew)", "x"]},
    ]
    svg = pages.monitoring_svg(analyses)
    assert svg.count('class="analysis"') == 2
    assert 'data-alerts="0"' in svg and 'data-alerts="2"' in svg
    assert "no monitoring analysis yet" in pages.monitoring_svg([])


def test_values_are_escaped_everywhere():
    hostile = "<script>alert(1)</script>"
    o = {
        "env": hostile,
        "workspace": hostile,
        "traffic": {"1": 100},
        "versions": [{"version": "1", "traffic": 100, "aliases": [hostile], "trainer": hostile}],
        "runs": [
            {
                "short_id": hostile,
                "started": "2026-12-04T10:00:00",
                "outcome": hostile,
                "error": hostile,
                "status": "failed",
                "accuracy": None,
                "roc_auc": None,
                "version": None,
                "report": None,
            }
        ],
        "dag": {"nodes": NODES, "edges": list(STEP_EDGES), "status": {}, "about": hostile},
        "monitoring": [],
    }
    html = pages.dashboard_html(o)
    assert "<script>" not in html and html.count("&lt;script&gt;") >= 6
    assert '<tr class="failed">' in html
    chain = {
        "version": "1", "commit": hostile, "run": hostile, "data": {}, "metrics": None,
        "trainer": hostile, "decision": {"outcome": "DEPLOY", "reason": hostile},
        "endpoint": {"traffic_percent": 100}, "alerts": [],
    }  # fmt: skip
    card = pages.card_html(
        {"version": "1", "aliases": [], "traffic": 100, "lineage": chain, "slices": {},
         "parity": {"passed": True, "reason": hostile, "bytes": 1}}
    )  # fmt: skip
    assert "<script>" not in card and "passed: &lt;script&gt;" in card
