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
        top_cluster=("FW-01 — network", 7),
        commitments_kept=(3, 4),
        overdue_commitments=["Backup restore test"],
        credit_total="USD 1,682.00",
        gap_count=2,
    )
    assert sentences == [
        "Overdue commitments: Backup restore test.",
        "Service credits due for the quarter: USD 1,682.00 in total.",
        "The largest recurring risk is FW-01 — network: 7 incidents in the quarter.",
        "Recurring commitments kept: 3 of 4 due.",
        "The responsibility matrix has 2 gaps: until they are closed, nobody can be held to "
        "those areas.",
    ]


def test_the_summary_ranks_missed_promises_then_worse_then_better_largest_change_first():
    lines = [
        # a small rise first in the registry's order: it must not lead the summary
        line("response.compliance", "Response SLA compliance", "rate", "higher", 0.909, 0.90),
        line("first_time_fix_rate", "First-time fix", "rate", "higher", 0.80, 0.60),
        line("repeat_incident_rate", "Repeat incidents", "rate", "lower", 0.30, 0.10),
        line("proactive_ratio", "Proactive detection", "rate", "higher", 0.25, 0.40),
        line(RESOLUTION, "Resolution SLA compliance", "rate", "higher", 0.90, 0.97, 0.95),
    ]
    sentences = summary(
        lines,
        breaches_by_priority={},
        missed_uptime=["Email"],
        credit_total="USD 841.00",
    )
    assert [s.split(" ")[0] for s in sentences] == [
        "Resolution",  # missed its target
        "Email",  # missed its uptime target
        "Service",  # the credits those cost, as one total
        "Repeat",  # worse by 200%
        "Proactive",  # worse by 37.5%
        "First-time",  # better by 33%
        "Response",  # +0.9 points: held, last
    ]
    assert sentences[2] == "Service credits due for the quarter: USD 841.00 in total."


def test_a_first_quarter_says_once_that_there_is_nothing_to_compare_with():
    lines = [
        line("first_time_fix_rate", "First-time fix", "rate", "higher", 0.7, None),
        line("proactive_ratio", "Proactive detection", "rate", "higher", 0.3, None),
    ]
    assert summary(lines, breaches_by_priority={}) == [
        "There are no figures for the quarter before to compare with.",
        "First-time fix was 70%.",
        "Proactive detection was 30%.",
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
