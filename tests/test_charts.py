"""The Plotly figures the dashboard, the QBR page and the QBR PDF share (pure builders)."""

from __future__ import annotations

import json

import pytest

from kpis.dashboard import charts, palette


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


def test_resolution_times_are_hours_on_a_linear_scale_with_labelled_targets():
    figure = charts.resolution_times(
        {"priorities": ["P1", "P2"], "minutes": [[0, 30, 120], [600]], "targets": [240, None]}
    )
    boxes = [t for t in figure["data"] if t["type"] == "box"]
    assert boxes[0]["y"] == [0.0, 0.5, 2.0]
    (target,) = [t for t in figure["data"] if t["name"] == "Target"]
    assert (target["x"], target["y"], target["text"]) == (["P1"], [4.0], ["4 h"])
    assert figure["layout"]["yaxis"].get("type") != "log"  # no log scales for owners


def test_every_target_line_says_what_it_is():
    trend = {"months": ["2025-07"], "response_compliance": [0.9], "resolution_compliance": [0.8]}
    for figure in (
        charts.monthly_compliance(trend, 0.95),
        charts.priority_compliance(
            {"priorities": ["P1"], "created": [1], "response": [1.0], "resolution": [1.0]}, 0.95
        ),
    ):
        (line,) = figure["layout"]["shapes"]
        (label,) = figure["layout"]["annotations"]
        assert label["text"] == "target 95%" and label["y"] == line["y0"] == 95.0
        assert label["font"]["color"] == line["line"]["color"] == palette.TARGET


def _colours(figure) -> dict[str, str]:
    return {t["name"]: t["marker"]["color"] for t in figure["data"] if "marker" in t}


def test_a_measure_keeps_its_colour_on_every_chart():
    trend = {
        "months": ["2025-07"],
        "created": [1],
        "resolved": [1],
        "backlog": [0],
        "proactive": [0.5],
        "tiers": [{"1": 0.5, "2": 0.5, "3": 0.0}],
        "response_compliance": [0.9],
        "resolution_compliance": [0.8],
    }
    times = {"priorities": ["P1"], "minutes": [[30]], "targets": [60]}
    by_priority = _colours(
        charts.priority_compliance(
            {"priorities": ["P1"], "created": [1], "response": [1.0], "resolution": [1.0]}, None
        )
    )
    by_month = _colours(charts.monthly_compliance(trend, None))
    # Response and Resolution never swap, whichever order a chart draws them in.
    assert by_priority["Response"] == by_month["Response"] == palette.colour("response")
    assert by_priority["Resolution"] == by_month["Resolution"] == palette.colour("resolution")
    assert by_priority["Response"] != by_priority["Resolution"]
    assert charts.response_times(times)["data"][0]["marker"]["color"] == palette.colour("response")
    resolution_box = charts.resolution_times(times)["data"][0]["marker"]["color"]
    assert resolution_box == palette.colour("resolution")
    proactive = _colours(charts.proactive_share(trend))
    quality = _colours(
        charts.quarterly_quality(
            {
                "labels": ["2025-Q3"],
                "first_time_fix": [0.5],
                "repeat_rate": [0.1],
                "proactive": [0.2],
                "resolution_compliance": [0.9],
            }
        )
    )
    assert proactive["Proactive"] == quality["Proactive detection"]
    assert quality["Resolution SLA compliance"] == palette.colour("resolution")
    tiers = _colours(charts.tier_mix(trend))
    assert len(set(tiers.values())) == 3


def _green(hex_colour: str) -> bool:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return g > r + 40 and g > b


def test_reactive_is_not_green_and_proactive_is():
    figure = charts.proactive_share({"months": ["2025-07"], "proactive": [0.3]})
    colours = _colours(figure)
    assert _green(colours["Proactive"]) and not _green(colours["Reactive"])


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
