"""The problems a tool report keeps: every row left out is named, up to a limit, then one last
entry says how many more were left out. A file of 150,000 bad rows must not store 150,000
problems (the reports page listed them all and weighed 26 MB); the first thousand show what is
wrong with the file, and the count says how much of it."""

from __future__ import annotations

PROBLEMS_KEPT = 1000


def problems_capped(problems: list[dict], limit: int = PROBLEMS_KEPT) -> list[dict]:
    """The first `limit` problems and, when there are more, one entry in words saying how many
    rows more were left out (its `left_out` is that count, for problems_count)."""
    if len(problems) <= limit:
        return list(problems)
    more = len(problems) - limit
    rows = "row" if more == 1 else "rows"
    return [
        *problems[:limit],
        {
            "row": None,
            "column": "",
            "value": "",
            "reason": f"and {more:,} more {rows} left out: fix the file and import it again",
            "left_out": more,
        },
    ]


def problems_count(problems: list[dict]) -> int:
    """How many rows the problems stand for, the entry of those left out counted as its
    count: 1,000 named + "and 149,000 more" is 150,000."""
    return sum(p.get("left_out", 1) for p in problems)
