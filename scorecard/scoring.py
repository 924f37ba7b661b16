"""From a figure or an answer to a score of 0 to 5, and from scores to a weighted total.

Pure arithmetic on plain numbers (no ORM), tested by hand in tests/test_scorecard_scoring.py.
The bands are the scorecard's published rules (docs/scorecard.md lists them): a figure at or
past a band's bound earns its score; the first band reached wins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

MAX_SCORE = 5

# (bound, score), best first. "higher": the figure must be at least the bound; "lower": at most.
Bands = tuple[tuple[float, int], ...]

COMPLIANCE_BANDS: Bands = ((0.95, 5), (0.90, 4), (0.85, 3), (0.80, 2), (0.70, 1))
PROACTIVE_BANDS: Bands = ((0.40, 5), (0.30, 4), (0.20, 3), (0.10, 2), (0.05, 1))
REPEAT_BANDS: Bands = ((0.05, 5), (0.10, 4), (0.15, 3), (0.20, 2), (0.30, 1))
# The last quarter's tickets against the first quarter's: 0.8 is a fall of a fifth.
VOLUME_BANDS: Bands = ((0.80, 5), (0.95, 4), (1.05, 3), (1.20, 2), (1.50, 1))
ESCALATION_MINUTES_BANDS: Bands = ((30, 5), (60, 4), (120, 3), (240, 2), (480, 1))
# Shares of something done (reviews held on schedule, action items closed).
SHARE_BANDS: Bands = ((1.0, 5), (0.75, 4), (0.50, 3), (0.25, 2), (0.01, 1))

# The measures' bands and which way is better, by measure key (scorecard.measured).
MEASURE_BANDS: dict[str, tuple[Bands, str]] = {
    "response": (COMPLIANCE_BANDS, "higher"),
    "resolution": (COMPLIANCE_BANDS, "higher"),
    "proactive": (PROACTIVE_BANDS, "higher"),
    "repeats": (REPEAT_BANDS, "lower"),
    "volume": (VOLUME_BANDS, "lower"),
    "escalation": (ESCALATION_MINUTES_BANDS, "lower"),
    "cadence": (SHARE_BANDS, "higher"),
    "actions": (SHARE_BANDS, "higher"),
    # Periods of a commitment kept by the MSP's own tool reports (evidence/).
    "mfa_attested": (SHARE_BANDS, "higher"),
    "phishing": (SHARE_BANDS, "higher"),
}

MATRIX_SCORES = {"agreed": 5, "waiting": 2, "none": 0}

ANSWER_CHOICES = ("yes", "partly", "no")
# An answer backed by a file scores more than the same answer taken on trust.
ANSWER_SCORES = {
    ("yes", True): 5,
    ("yes", False): 4,
    ("partly", True): 3,
    ("partly", False): 2,
    ("no", True): 0,
    ("no", False): 0,
}


def band_score(value: float, bands: Bands, better: str) -> int:
    """The score of the first band the value reaches; 0 past the last."""
    for bound, score in bands:
        if (better == "higher" and value >= bound) or (better == "lower" and value <= bound):
            return score
    return 0


def measure_score(measure: str, value: float | str) -> int:
    """A measured figure's score: the responsibility matrix by its state, the rest by bands."""
    if measure == "matrix":
        return MATRIX_SCORES[str(value)]
    bands, better = MEASURE_BANDS[measure]
    return band_score(float(value), bands, better)


def answer_score(answer: str | None, has_evidence: bool) -> int:
    """yes / partly / no, more with a file attached; not answered scores 0 (nothing shown)."""
    if not answer:
        return 0
    return ANSWER_SCORES[(answer, has_evidence)]


def criterion_score(line_scores: Sequence[int]) -> float | None:
    """The mean of a criterion's counted lines, to one decimal; None when none counts."""
    if not line_scores:
        return None
    return round(sum(line_scores) / len(line_scores), 1)


def weighted_total(scores: Mapping[str, float | None], weights: Mapping[str, int]) -> float:
    """Σ weight% × score over the criteria, out of 5 (a criterion not scored counts 0)."""
    total = sum(weights[key] * (scores.get(key) or 0) for key in weights)
    return round(total / 100, 2)


def weights_problems(weights: Mapping[str, int | None], titles: Mapping[str, str]) -> list[str]:
    """What is wrong with a set of weights, in words: each must be a whole percent from 0 to
    100, and together they must add to 100%."""
    problems = []
    for key, title in titles.items():
        value = weights.get(key)
        if value is None:
            problems.append(f"{title}: write a whole percentage from 0 to 100.")
        elif not 0 <= value <= 100:
            problems.append(f"{title}: {value}% is outside 0–100%.")
    if not problems:
        total = sum(weights[key] or 0 for key in titles)
        if total != 100:
            problems.append(f"The weights add to {total}%; they must add to 100%.")
    return problems
