"""The incumbent's measured history on the comparison page: each rate the scorecard scores it
on, per quarter, from Acme's two quarters of tests/scorecard_support.py (as agreed):
2026-Q1 response 9/10 = 90 %, resolution 6/10 = 60 %, proactive 2/10 = 20 %, repeats 1/5 = 20 %;
2026-Q2 response 8/8 = 100 %, resolution 6/8 = 75 %, proactive 4/8 = 50 %, repeats 0/5 = 0 %."""

from __future__ import annotations

from django.urls import reverse

from kpis.dashboard import palette
from kpis.models import KpiSnapshot
from scorecard.charts import history_figure
from scorecard.measured import measured_history

from .scorecard_support import measured_quarters, scored_world

HISTORY = {
    "labels": ["2026-Q1", "2026-Q2"],
    "series": [
        ("Response SLA compliance", "response", [0.9, 1.0]),
        ("Resolution SLA compliance", "resolution", [0.6, 0.75]),
        ("Proactive detection", "proactive", [0.2, 0.5]),
        ("Repeat incidents", "repeat", [0.2, 0.0]),
    ],
}


def test_the_history_is_each_scored_rate_per_quarter(world):
    measured_quarters(world)
    assert measured_history(world.acme_contract) == HISTORY


def test_one_quarter_is_no_history(world):
    measured_quarters(world)
    KpiSnapshot.objects.filter(client=world.acme, period_label="2026-Q1").delete()
    assert measured_history(world.acme_contract) is None


def test_the_figure_draws_each_rate_in_percent_in_its_palette_colour():
    figure = history_figure(HISTORY)
    assert [t["name"] for t in figure["data"]] == [s[0] for s in HISTORY["series"]]
    assert [t["y"] for t in figure["data"]] == [
        [90.0, 100.0],
        [60.0, 75.0],
        [20.0, 50.0],
        [20.0, 0.0],
    ]
    assert [t["line"]["color"] for t in figure["data"]] == [
        palette.colour(c) for c in ("response", "resolution", "proactive", "repeat")
    ]
    assert figure["data"][0]["x"] == ["2026-Q1", "2026-Q2"]


def test_the_comparison_page_has_the_chart_and_its_table(world, client_for):
    scored_world(world)
    page = client_for(world.owner).get(reverse("scorecard_compare", args=[world.acme.slug]))
    html = page.content.decode()
    assert 'id="chart-history"' in html and 'id="dashboard-data"' in html
    assert "Northwind IT Services: the measured history, quarter by quarter" in html
    # The table row of 2026-Q2: 100 %, 75 %, 50 %, 0 %.
    row = html.split('data-label="Quarter">2026-Q2</th>')[1].split("</tr>")[0]
    assert [cell.split(">")[1].split("<")[0] for cell in row.split("<td")[1:]] == [
        "100%",
        "75%",
        "50%",
        "0%",
    ]
