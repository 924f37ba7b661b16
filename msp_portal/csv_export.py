"""CSV files people download and open in a spreadsheet: the one rule every export follows.

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` as a formula. Which text starts a
cell is not ours to decide: Excel and LibreOffice guess the delimiter (a comma, a semicolon, a
tab or a bar, by locale and by what the file holds), so `x;=cmd|' /C calc'!A0` in one quoted
cell can become two cells, the second a formula, once the guess is `;`. So every text cell is
quoted, and a formula trigger is made inert wherever any of those delimiters (or a line break)
could start a cell: at the start of the text and after each of them, spaces in between or not.
"""

from __future__ import annotations

import csv
import re

# A trigger at the start of the text, or after a character a spreadsheet may split cells on.
_TRIGGER = re.compile(r"(^|[,;\t|\r\n])([ \t]*)(?=[=+\-@])")


def inert(value: str) -> str:
    """The text with an apostrophe before every formula trigger that could start a cell (the
    apostrophe is how spreadsheets themselves mark text that only looks like a formula)."""
    return _TRIGGER.sub(lambda match: f"{match[1]}{match[2]}'", value) if value else value


def cell(value):
    """A value ready for csv_writer: numbers stay numbers (unquoted), None is empty text, and
    everything else is text made inert."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return value
    return inert(str(value))


class _InertWriter:
    """csv.writer's writerow/writerows with every cell passed through `cell`."""

    def __init__(self, stream):
        # QUOTE_NONNUMERIC: every text cell in quotes, so no delimiter guess splits it.
        self._writer = csv.writer(stream, quoting=csv.QUOTE_NONNUMERIC)

    def writerow(self, row) -> None:
        self._writer.writerow([cell(value) for value in row])

    def writerows(self, rows) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(stream) -> _InertWriter:
    """The writer for every CSV export (not for COPY buffers, which no spreadsheet opens)."""
    return _InertWriter(stream)
