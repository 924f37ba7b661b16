"""The QBR's executive summary: hand-written expectations for the sentences the board reads, and
properties that hold for any figures."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from reviews.narrative import (
    KpiLine,
    breach_share_clause,
    kpi_sentence,
    percent_pair,
    summary,
)

RESOLUTION = "resolution.compliance"


def line(key, label, unit, better, value, previous, target=None):
    return KpiLine(key, label, unit, better, value, previous, target)


def test_a_fall_below_target_names_the_priority_behind_most_breaches():
    lines = [line(RESOLUTION, "Resolution SLA compliance", "rate", "higher", 0.89, 0.96, 0.95)]
    sentences = summary(lines, breaches_by_priority={"P1": 1, "P2": 7, "P3": 2})
    assert sentences[0] == (
        "Resolution SLA compliance fell from 96% to 89%, below the 95% target; "
        "P2 tickets caused 70% of the breaches."
    )


def test_proactive_detection_rising_reads_as_a_rise():
    sentence = kpi_sentence(
        line("proactive_ratio", "Proactive detection", "rate", "higher", 0.34, 0.22)
    )
    assert sentence == "Proactive detection rose from 22% to 34%."


def test_a_shorter_time_reads_as_an_improvement_and_a_longer_one_as_worse():
    better = line(
        "resolution.median_minutes", "Median time to resolve", "minutes", "lower", 135, 300
    )
    worse = line(
        "resolution.median_minutes", "Median time to resolve", "minutes", "lower", 300, 135
    )
    assert kpi_sentence(better) == "Median time to resolve improved from 5 h to 2 h 15 min."
    assert kpi_sentence(worse) == "Median time to resolve worsened from 2 h 15 min to 5 h."


def test_meeting_the_target_is_said_and_a_first_quarter_has_nothing_to_compare():
    met = line(RESOLUTION, "Resolution SLA compliance", "rate", "higher", 0.97, None, 0.95)
    assert kpi_sentence(met) == (
        "Resolution SLA compliance was 97% (no figures for the quarter before), "
        "meeting the 95% target."
    )


def test_close_rates_get_a_decimal_so_they_never_read_as_equal():
    assert percent_pair(0.891, 0.894) == ("89.1%", "89.4%")
    assert kpi_sentence(line(RESOLUTION, "R", "rate", "higher", 0.894, 0.891)) == (
        "R rose from 89.1% to 89.4%."
    )


def test_no_priority_is_blamed_when_none_holds_half_the_breaches():
    assert breach_share_clause({"P1": 3, "P2": 3, "P3": 4}) == ""
    assert breach_share_clause({}) == ""


def test_the_summary_covers_commitments_credits_risks_and_gaps():
    sentences = summary(
        [],
        breaches_by_priority={},
        top_cluster=("ci:fw-01|network", 7),
        commitments_kept=(3, 4),
        overdue_commitments=["Backup restore test"],
        credits_due=["USD 841.00 for 2026-04 (10% of the fee)"],
        gap_count=2,
    )
    assert sentences == [
        "The largest recurring risk is ci:fw-01|network: 7 incidents in the quarter.",
        "Recurring commitments kept: 3 of 4 due; overdue: Backup restore test.",
        "A service credit is due: USD 841.00 for 2026-04 (10% of the fee).",
        "The responsibility matrix has 2 gaps: until they are closed, nobody can be held to "
        "those areas.",
    ]


rates = st.floats(min_value=0, max_value=1, allow_nan=False)


@given(rates, rates)
def test_the_verb_follows_the_figures(previous, value):
    sentence = kpi_sentence(line("x", "X", "rate", "higher", value, previous))
    before, now = percent_pair(previous, value)
    if before == now:
        assert sentence == f"X held at {now}."
    else:
        verb = "rose" if value > previous else "fell"
        assert sentence == f"X {verb} from {before} to {now}."


@given(rates, rates)
def test_different_rates_read_differently_down_to_a_tenth_of_a_percent(a, b):
    first, second = percent_pair(a, b)
    if round(a * 1000) != round(b * 1000) and f"{a * 100:.1f}" != f"{b * 100:.1f}":
        assert first != second


@given(st.dictionaries(st.sampled_from(["P1", "P2", "P3", "P4"]), st.integers(0, 500)))
def test_a_blamed_priority_holds_at_least_half_of_the_breaches(counts):
    clause = breach_share_clause(counts)
    total = sum(counts.values())
    if clause:
        priority = clause.split()[1]
        assert counts[priority] * 2 >= total
        assert f"caused {round(counts[priority] * 100 / total)}% " in clause
    else:
        assert total == 0 or max(counts.values()) * 2 < total
