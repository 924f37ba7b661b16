"""The phases an import of a tool report goes through, as its progress page says them: the
import functions report each (with rows done of the total while storing), and a background
import (evidence/jobs.py) keeps what it hears for the page to poll."""

from __future__ import annotations

from collections.abc import Callable

# (phase in words, rows done, rows in all or None while unknown)
Progress = Callable[[str, int, int | None], None]

READING = "reading the file"
STORING = "storing the rows"
JUDGING = "judging the commitments"


def progress_unheard(phase: str, done: int, total: int | None) -> None:
    """The command and the demo seed import in the foreground: nobody watches a page."""
