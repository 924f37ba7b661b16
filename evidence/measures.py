"""One entry point per measured commitment, whatever the kind of report it is measured from
(docs/evidence.md): judge every occurrence again after an import, an undo, a change of the
contract or a new period; say a stored measure in words; name the page listing the rows
behind it. Each kind adds its line to the tables below."""

from __future__ import annotations

from collections.abc import Callable

from django.urls import reverse

from .patches import summary_words as patch_words


def _refreshers() -> list[Callable[..., int]]:
    from .services import patch_measures_refresh

    return [patch_measures_refresh]


def measures_refresh(*, client_id: int) -> int:
    """Store the measure of every occurrence of the client's measured commitments that its
    reports cover; returns how many occurrences are measured."""
    return sum(refresh(client_id=client_id) for refresh in _refreshers())


# measured_by → the stored measure (CommitmentOccurrence.measure) in words.
WORDS: dict[str, Callable[[dict | None], str]] = {
    "patches": patch_words,
}

# measured_by → (the URL name of the rows behind an occurrence, the link's words).
DRILLDOWNS: dict[str, tuple[str, str]] = {
    "patches": ("occurrence_patches", "The patches behind it"),
}


def measure_words(measured_by: str, summary: dict | None) -> str:
    words = WORDS.get(measured_by)
    return words(summary) if words is not None else ""


def drilldown(measured_by: str, slug: str, contract_id: int, occurrence_id: int):
    """(url, words) of the page listing the rows behind a measured occurrence, or None."""
    entry = DRILLDOWNS.get(measured_by)
    if entry is None:
        return None
    name, words = entry
    return reverse(name, args=[slug, contract_id, occurrence_id]), words
