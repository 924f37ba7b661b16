"""The board pack's pure parts: the RAG scorecard and its verdict, credits as one total, risks
in plain words, suggested recommendations, empty sections, paper by country, and the charts
laid out for print."""

from __future__ import annotations

from reviews.board import (
    NO_TARGET,
    advisor_items,
    credit_total,
    empty_sections,
    paper_for,
    risk_name,
    scorecard_rows,
    suggestions,
    verdict,
)
from reviews.print_charts import FONT_SIZE, print_figure


def kpi(key, label, value, target=None, unit="rate", better="higher"):
    return {
        "key": key,
        "label": label,
        "unit": unit,
        "better": better,
        "value": value,
        "target": target,
    }


CONTENT = {
    "msp": "Northwind IT Services",
    "quarter": "2025-Q3",
    "kpis": [
        kpi("resolution.compliance", "Resolution SLA compliance", 0.688, 0.95),
        kpi("response.compliance", "Response SLA compliance", 0.94, 0.95),
        kpi("first_time_fix_rate", "First-time fix", 0.75, 0.70),
        kpi("tickets.created", "Tickets raised", 564, unit="count", better="neither"),
        kpi("resolution.mean_minutes", "Mean time to resolve", 300, 240, "minutes", "lower"),
    ],
    "uptime": [{"service": "Email", "value": 0.9991, "target": 0.999, "met": True}],
    "clusters": [{"fingerprint": "ci:nas-01|security", "count": 11}],
    "commitments": [{"name": "Backup restore test", "status": "overdue"}],
}


def test_every_measure_shows_its_target_or_says_the_contract_has_none():
    rows = scorecard_rows(CONTENT)
    assert [(r["label"], r["target"], r["rag_label"]) for r in rows] == [
        ("Resolution SLA compliance", "at least 95%", "Missed"),
        ("Response SLA compliance", "at least 95%", "Missed, close"),  # within 5% of it
        ("First-time fix", "at least 70%", "Met"),
        ("Tickets raised", NO_TARGET, "No target"),
        ("Mean time to resolve", "at most 4 h", "Missed"),
        ("Uptime: Email", "at least 99.900%", "Met"),
    ]
    assert verdict(CONTENT, rows) == (
        "Northwind IT Services met 2 of 5 targets in 2025-Q3; missed: Resolution SLA "
        "compliance, Response SLA compliance, Mean time to resolve."
    )


def test_a_verdict_with_every_target_met_or_none_set():
    met = [{"label": "X", "rag": "green"}]
    assert (
        verdict(CONTENT, met)
        == "Northwind IT Services met all 1 targets of the contract in 2025-Q3."
    )
    assert "sets no target" in verdict(CONTENT, [{"label": "X", "rag": "none"}])


def test_credits_are_one_total_with_two_decimals_and_the_currency():
    credits = [
        {"period": "2025-07", "currency": "USD", "amount": 841},
        {"period": "2025-08", "currency": "USD", "amount": 841.0},
        {"period": "2025-09", "currency": "USD", "amount": 0},
    ]
    assert credit_total(credits) == "USD 1,682.00"
    assert credit_total([]) is None


def test_recurring_risks_read_as_names_not_fingerprints():
    assert risk_name("ci:srv-file01|backup") == "SRV-FILE01 — backup"
    assert risk_name("user:eli.lopez|accounts") == "Eli Lopez — accounts"
    assert risk_name("title:printer|printer # offline") == "“printer offline” — printer"
    assert risk_name("odd") == "odd"


def test_suggestions_come_from_missed_targets_risks_and_overdue_commitments():
    suggested = suggestions(CONTENT)
    assert suggested[0].startswith("Bring Resolution SLA compliance back to target (68.8%")
    assert any("NAS-01 — security (11 in the quarter)" in s for s in suggested)
    assert suggested[-1] == "Catch up on the overdue commitments: Backup restore test."
    assert not any("First-time fix" in s for s in suggested)  # met: nothing to suggest


def test_empty_sections_are_named_for_the_publisher():
    content = {"msp_commentary": "Fine.", "recommendations": " - Replace the NAS\n\n"}
    assert advisor_items(content) == ["Replace the NAS"]
    assert empty_sections(content) == [
        "the advisor's commentary",
        "action items",
        "attendees",
        "the next review date",
    ]


def test_letter_in_the_us_and_canada_a4_elsewhere():
    assert [paper_for(c) for c in ("US", "ca", "GB", "DE", "")] == [
        "Letter",
        "Letter",
        "A4",
        "A4",
        "A4",
    ]


def test_print_figures_have_larger_type_linear_axes_and_labelled_targets():
    figure = {
        "data": [
            {
                "type": "box",
                "name": "P1",
                "y": [1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 400],
            },
            {"type": "scatter", "name": "Target", "y": [4], "showlegend": False},
        ],
        "layout": {
            "font": {"size": 12},
            "yaxis": {"type": "log", "tickvals": [1, 10], "ticktext": ["1 h", "10 h"]},
            "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 95, "y1": 95}],
        },
    }
    printed = print_figure(figure)
    assert figure["layout"]["yaxis"]["type"] == "log"  # the dashboard's figure is untouched
    axis = printed["layout"]["yaxis"]
    assert axis["type"] == "linear" and "tickvals" not in axis
    assert axis["range"][1] < 400  # one very long ticket does not flatten the boxes...
    notes = [n["text"] for n in printed["layout"]["annotations"]]
    assert "1 ticket above the scale (longest 400 h)" in notes  # ...and is said to be there
    assert "Target 95%" in notes
    assert printed["layout"]["font"]["size"] == FONT_SIZE
    assert printed["data"][1]["showlegend"] is True
