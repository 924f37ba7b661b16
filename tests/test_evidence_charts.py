"""The trend chart of a measured commitment (evidence/charts.py, pure): the headline rate per
period in percent, a cross on a missed period, and the contract's bound as the dashed line
every chart of the portal draws, labelled as a target or a limit."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from evidence.charts import Bound, TrendPoint, commitment_bound, measured_trend
from kpis.dashboard import palette

# The patch samples of tests/test_patch_reports.py: July nothing due (kept), August 2 of 5 on
# time (40 %, missed), September 1 of 1 (100 %, kept).
POINTS = [
    TrendPoint("Jul 2025", None, True, "No patch of the counted severities fell due."),
    TrendPoint("Aug 2025", 2 / 5, False, "2 of 5 patches on time, median 20 days, p90 42 days"),
    TrendPoint("Sep 2025", 1.0, True, "1 of 1 patch on time, median 7 days, p90 7 days"),
]


def test_the_rate_is_drawn_per_period_against_the_target():
    figure = measured_trend(POINTS, "On time", commitment_bound(None, None))
    (trace,) = figure["data"]
    assert trace["x"] == ["Jul 2025", "Aug 2025", "Sep 2025"]
    assert trace["y"] == [None, 40.0, 100.0]  # 2 / 5 = 40 %; nothing counted: no point
    assert trace["marker"]["symbol"] == ["circle", "x", "circle"]
    assert trace["line"]["color"] == palette.colour("measured")
    assert trace["hovertext"][1] == (
        "Aug 2025: missed. 2 of 5 patches on time, median 20 days, p90 42 days"
    )
    (line,) = figure["layout"]["shapes"]
    assert (line["y0"], line["line"]["dash"], line["line"]["color"]) == (
        100.0,
        "dash",
        palette.TARGET,
    )
    assert [a["text"] for a in figure["layout"]["annotations"]] == ["target 100%"]
    assert figure["layout"]["yaxis"]["title"]["text"] == "% on time"


def test_a_target_below_100_and_a_limit_are_drawn_and_said_as_such():
    assert commitment_bound(Decimal("95.00"), None) == Bound(0.95)
    # A limit (the phishing click rate: at most 10 %) wins over a target.
    assert commitment_bound(Decimal("95"), Decimal("10")) == Bound(0.10, is_limit=True)
    limit = measured_trend(POINTS, "Clicked", Bound(0.10, is_limit=True))
    assert [a["text"] for a in limit["layout"]["annotations"]] == ["limit 10%"]
    assert limit["layout"]["shapes"][0]["y0"] == 10.0


@given(
    st.lists(
        st.tuples(st.one_of(st.none(), st.floats(0, 1)), st.booleans()), min_size=0, max_size=40
    )
)
def test_every_period_is_one_point_in_percent(periods):
    points = [TrendPoint(f"P{i}", rate, kept, "") for i, (rate, kept) in enumerate(periods)]
    (trace,) = measured_trend(points, "On time", Bound(1.0))["data"]
    assert len(trace["x"]) == len(trace["y"]) == len(trace["marker"]["symbol"]) == len(points)
    for (rate, kept), y, symbol in zip(periods, trace["y"], trace["marker"]["symbol"], strict=True):
        assert (y is None) == (rate is None)
        assert y is None or 0 <= y <= 100
        assert symbol == ("circle" if kept else "x")
