"""The Plotly figures the dashboard, the QBR page and the QBR PDF share (pure builders)."""

from __future__ import annotations

import json

import pytest

from kpis.dashboard import charts


def test_compliance_is_drawn_in_percent_with_the_target_as_a_dashed_line():
    figure = charts.priority_compliance(
        {
            "priorities": ["P1", "P2"],
            "created": [3, 4],
            "response": [0.5, None],
            "resolution": [1.0, 0.755],
        },
        0.95,
    )
    assert [trace["y"] for trace in figure["data"]] == [[50.0, None], [100.0, 75.5]]
    (line,) = figure["layout"]["shapes"]
    assert (line["y0"], line["y1"], line["line"]["dash"]) == (95.0, 95.0, "dash")
    assert (
        charts.priority_compliance(
            {"priorities": [], "created": [], "response": [], "resolution": []}, None
        )["layout"]["shapes"]
        == []
    )


def test_resolution_times_are_hours_on_a_log_scale_with_no_zero():
    figure = charts.resolution_times(
        {"priorities": ["P1", "P2"], "minutes": [[0, 30, 120], [600]], "targets": [240, None]}
    )
    boxes = [t for t in figure["data"] if t["type"] == "box"]
    assert boxes[0]["y"] == [round(1 / 60, 4), 0.5, 2.0]  # 0 min drawn at one minute
    (target,) = [t for t in figure["data"] if t["name"] == "Target"]
    assert (target["x"], target["y"]) == (["P1"], [4.0])  # P2 has no target
    assert figure["layout"]["yaxis"]["type"] == "log"


def test_proactive_and_reactive_shares_add_up_to_a_hundred():
    figure = charts.proactive_share({"months": ["2025-07", "2025-08"], "proactive": [0.3, None]})
    proactive, reactive = (trace["y"] for trace in figure["data"])
    assert proactive == [30.0, None] and reactive == [70.0, None]


def test_uptime_scale_shows_the_difference_between_target_and_value():
    figure = charts.uptime([{"service": "Email", "value": 0.9985, "target": 0.999}])
    low, high = figure["layout"]["yaxis"]["range"]
    assert low == pytest.approx(99.35) and high > 100


def test_every_figure_is_plain_json():
    trend = {
        "months": ["2025-07"],
        "created": [1],
        "resolved": [1],
        "backlog": [0],
        "proactive": [0.5],
        "resolution_compliance": [1.0],
        "response_compliance": [1.0],
    }
    quarters = {
        "labels": ["2025-Q3"],
        "first_time_fix": [0.5],
        "repeat_rate": [0.1],
        "proactive": [0.2],
        "resolution_compliance": [0.9],
    }
    figures = [
        charts.monthly_volume(trend),
        charts.monthly_compliance(trend, 0.95),
        charts.proactive_share(trend),
        charts.quarterly_quality(quarters),
        charts.categories({"names": ["Email"], "created": [3], "resolution": [1.0]}),
    ]
    for figure in figures:
        assert json.loads(json.dumps(figure)) == figure
