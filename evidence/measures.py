"""One entry point per measured commitment, whatever the kind of report it is measured from
(docs/evidence.md, the kinds in evidence/kinds.py): judge every occurrence again after an
import, an undo, a change of the contract or a new period; say a stored measure in words;
find the page listing the rows behind it."""

from __future__ import annotations

from django.urls import reverse


def _kinds():
    from .kinds import KINDS  # the kinds import the services, which refresh through here

    return KINDS


def measures_refresh(*, client_id: int) -> int:
    """Store the measure of every occurrence of the client's measured commitments that its
    reports cover; returns how many occurrences are measured."""
    from contracts.models import CommitmentOccurrence

    measured = sum(kind.refresh(client_id=client_id) for kind in _kinds().values())
    # A commitment switched back to "by hand" is no longer judged by any report: the measure
    # its reports once gave must not stay behind (the API and pages would still show it).
    CommitmentOccurrence.objects.filter(
        commitment__contract__client_id=client_id, measure__isnull=False
    ).exclude(commitment__measured_by__in=list(_kinds())).update(measure=None)
    return measured


def measure_words(measured_by: str, summary: dict | None) -> str:
    kind = _kinds().get(measured_by)
    return kind.words(summary) if kind is not None else ""


def drilldown_of(measured_by: str) -> tuple[str, str] | None:
    """(URL name of the rows behind an occurrence, the link's words), or None."""
    kind = _kinds().get(measured_by)
    return None if kind is None else (kind.drilldown, kind.drilldown_words)


def drilldown(measured_by: str, slug: str, contract_id: int, occurrence_id: int):
    """(url, words) of the page listing the rows behind a measured occurrence, or None."""
    found = drilldown_of(measured_by)
    if found is None:
        return None
    name, words = found
    return reverse(name, args=[slug, contract_id, occurrence_id]), words


def measured_from(commitment, slug: str, contract_id: int) -> dict | None:
    """{"url", "title", "rule"}: the page of the reports a commitment is measured from, their
    title in words and the commitment's rule in words; None for a commitment recorded by hand
    (or measured by a kind not built yet)."""
    kind = _kinds().get(commitment.measured_by)
    if kind is None:
        return None
    return {
        "url": reverse(kind.page, args=[slug, contract_id]),
        "title": kind.title[0].lower() + kind.title[1:],
        "rule": kind.rule_words(commitment) if kind.rule_words else "",
    }
