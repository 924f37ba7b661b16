"""The side-by-side comparison: per criterion, each candidate's score and the lines it comes
from, and each candidate's weighted total. The page and the PDF render this one structure, so
they never disagree."""

from __future__ import annotations

from dataclasses import dataclass, field

from .criteria import CRITERIA, Criterion
from .measured import Measured, incumbent_measures
from .models import Answer, Assessment, Candidate
from .scoring import answer_score, criterion_score, weighted_total

ANSWER_WORDS = {"yes": "answered yes", "partly": "answered partly", "no": "answered no"}


@dataclass(frozen=True)
class Line:
    """One thing a score is made of: a measured figure or an answer, in words."""

    subject: str  # the question's text, or "" for a measured figure (its words say it)
    words: str
    score: int | None  # None: shown but not counted (no data, its question stands in)
    measured: bool
    answer: Answer | None = None


@dataclass
class Cell:
    score: float | None
    lines: list[Line] = field(default_factory=list)

    @property
    def measured(self) -> bool:
        return any(line.measured for line in self.lines)


@dataclass
class CriterionRow:
    criterion: Criterion
    weight: int
    cells: list[Cell]


@dataclass
class Comparison:
    assessment: Assessment
    candidates: list[Candidate]
    rows: list[CriterionRow]
    totals: list[float]


def _answer_line(question, answer: Answer | None) -> Line:
    if answer is None:
        return Line(question.text, "not answered", 0, False)
    words = ANSWER_WORDS[answer.answer]
    words += ", evidence attached" if answer.has_evidence else ", no evidence attached"
    if answer.note:
        words += f" ({answer.note})"
    score = answer_score(answer.answer, answer.has_evidence)
    return Line(question.text, words, score, False, answer)


def candidate_cell(
    criterion: Criterion, measures: dict[str, Measured] | None, answers: dict[str, Answer]
) -> Cell:
    """A candidate's score on a criterion. `measures`: the incumbent's measured figures (None
    for a newcomer, who has no history here). A question standing in for a measure counts only
    where the measure has no data."""
    lines: list[Line] = []
    for key in criterion.measures if measures is not None else ():
        if key in measures:
            lines.append(Line("", measures[key].words, measures[key].score, True))
    for question in criterion.questions:
        if measures is not None and question.instead_of in measures:
            continue
        lines.append(_answer_line(question, answers.get(question.key)))
    counted = [line.score for line in lines if line.score is not None]
    return Cell(criterion_score(counted), lines)


def comparison_build(assessment: Assessment, *, with_rivals: bool) -> Comparison:
    """The comparison as this reader may see it: every candidate, or (for the incumbent MSP's
    people) the incumbent alone."""
    candidates = list(assessment.candidates.prefetch_related("answers"))
    if not with_rivals:
        candidates = [c for c in candidates if c.is_incumbent]
    measures = incumbent_measures(assessment.contract)
    answers = {c.pk: {a.question: a for a in c.answers.all()} for c in candidates}
    rows = [
        CriterionRow(
            criterion,
            assessment.weights.get(criterion.key, 0),
            [
                candidate_cell(criterion, measures if c.is_incumbent else None, answers[c.pk])
                for c in candidates
            ],
        )
        for criterion in CRITERIA
    ]
    totals = [
        weighted_total({row.criterion.key: row.cells[i].score for row in rows}, assessment.weights)
        for i in range(len(candidates))
    ]
    return Comparison(assessment, candidates, rows, totals)
