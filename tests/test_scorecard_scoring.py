"""The scorecard's arithmetic by hand: a figure's band, an answer's score, a criterion's mean
and the weighted total (scorecard/scoring.py). No database."""

from __future__ import annotations

import pytest

from scorecard.criteria import CRITERIA, DEFAULT_WEIGHTS, QUESTION
from scorecard.scoring import (
    answer_score,
    criterion_score,
    measure_score,
    weighted_total,
    weights_problems,
)


@pytest.mark.parametrize(
    ("measure", "value", "score"),
    [
        # Compliance: 95% and up is 5, then a point per 5 points down to 70%; 66.7% is 0.
        ("resolution", 0.95, 5),
        ("resolution", 0.9499, 4),
        ("response", 0.90, 4),
        ("response", 0.85, 3),
        ("resolution", 0.80, 2),
        ("resolution", 0.70, 1),
        ("resolution", 12 / 18, 0),
        # Proactive share: 40% and up is 5; 6 of 18 (33.3%) is 4; under 5% is 0.
        ("proactive", 0.40, 5),
        ("proactive", 6 / 18, 4),
        ("proactive", 0.049, 0),
        # Repeat incidents, lower is better: 5% or less is 5; 1 in 10 is 4; past 30% is 0.
        ("repeats", 0.05, 5),
        ("repeats", 0.10, 4),
        ("repeats", 0.31, 0),
        # Ticket volume, last quarter over first: 8 against 10 (down 20%) is 5, level is 3.
        ("volume", 8 / 10, 5),
        ("volume", 1.0, 3),
        ("volume", 1.6, 0),
        # Time to escalate in minutes: an hour is 4, past 8 hours 0.
        ("escalation", 60, 4),
        ("escalation", 61, 3),
        ("escalation", 481, 0),
        # Shares done: every review held is 5, half is 3, none 0.
        ("cadence", 1.0, 5),
        ("cadence", 0.5, 3),
        ("actions", 0.0, 0),
        ("matrix", "agreed", 5),
        ("matrix", "waiting", 2),
        ("matrix", "none", 0),
    ],
)
def test_a_measured_figure_scores_by_its_band(measure, value, score):
    assert measure_score(measure, value) == score


def test_an_answer_with_evidence_scores_more_than_one_taken_on_trust():
    assert answer_score("yes", True) == 5
    assert answer_score("yes", False) == 4
    assert answer_score("partly", True) == 3
    assert answer_score("partly", False) == 2
    assert answer_score("no", True) == 0
    assert answer_score(None, False) == 0  # not answered


def test_a_criterion_is_the_mean_of_its_lines_to_one_decimal():
    assert criterion_score([4, 0, 4]) == 2.7  # 8 / 3 = 2.67
    assert criterion_score([4, 4, 5]) == 4.3  # 13 / 3 = 4.33
    assert criterion_score([5, 2, 0, 0, 0]) == 1.4
    assert criterion_score([]) is None


def test_the_weighted_total_is_out_of_five_and_an_unscored_criterion_counts_nothing():
    weights = {"a": 60, "b": 30, "c": 10}
    # 0.6 × 4.5 + 0.3 × 2.0 + 0.1 × 0 = 2.7 + 0.6 = 3.3
    assert weighted_total({"a": 4.5, "b": 2.0, "c": None}, weights) == 3.3
    assert weighted_total({"a": 5, "b": 5, "c": 5}, weights) == 5


def test_weights_must_be_whole_percents_adding_to_100_and_the_message_names_the_criterion():
    titles = {"a": "Operating model", "b": "Governance"}
    assert weights_problems({"a": 60, "b": 40}, titles) == []
    assert weights_problems({"a": 60, "b": 30}, titles) == [
        "The weights add to 90%; they must add to 100%."
    ]
    assert weights_problems({"a": None, "b": 40}, titles) == [
        "Operating model: write a whole percentage from 0 to 100."
    ]
    assert weights_problems({"a": 140, "b": -40}, titles) == [
        "Operating model: 140% is outside 0–100%.",
        "Governance: -40% is outside 0–100%.",
    ]


def test_the_default_weights_add_to_100_and_every_stand_in_question_names_a_measure():
    assert sum(DEFAULT_WEIGHTS.values()) == 100
    for criterion in CRITERIA:
        for question in criterion.questions:
            assert question.instead_of in (None, *criterion.measures), question.key
    assert len(QUESTION) == sum(len(c.questions) for c in CRITERIA)  # no key used twice
