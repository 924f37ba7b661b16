"""Periods: a month, quarter or year in a contract's time zone, and the integer keys that
stand for them while a million tickets are grouped. Pure: no database."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import polars as pl


@dataclass(frozen=True)
class Period:
    """A month, quarter or year in the contract's zone, as a half-open UTC range."""

    kind: str  # month | quarter | year
    label: str  # 2025-07 | 2025-Q3 | 2025
    first_day: date
    next_first_day: date
    start: datetime  # UTC, naive
    end: datetime
    zone: str = "UTC"

    @classmethod
    def parse(cls, label: str, zone: str) -> Period:
        if m := re.fullmatch(r"(\d{4})-Q([1-4])", label):
            year, quarter = int(m[1]), int(m[2])
            first, months, kind = date(year, 3 * quarter - 2, 1), 3, "quarter"
        elif m := re.fullmatch(r"(\d{4})-(\d{2})", label):
            if not 1 <= int(m[2]) <= 12:
                raise ValueError(f"'{label}' is not a period like 2025-07, 2025-Q3 or 2025")
            first, months, kind = date(int(m[1]), int(m[2]), 1), 1, "month"
        elif m := re.fullmatch(r"(\d{4})", label):
            first, months, kind = date(int(m[1]), 1, 1), 12, "year"
        else:
            raise ValueError(f"'{label}' is not a period like 2025-07, 2025-Q3 or 2025")
        total = first.month - 1 + months
        following = date(first.year + total // 12, total % 12 + 1, 1)
        return cls(kind, label, first, following, _utc(first, zone), _utc(following, zone), zone)

    @property
    def months(self) -> list[str]:
        """The month labels the period is made of."""
        count = {"month": 1, "quarter": 3, "year": 12}[self.kind]
        start = period_key(f"{self.first_day:%Y-%m}")
        return [period_label(start + i) for i in range(count)]


def _utc(day: date, zone: str) -> datetime:
    local = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone))
    return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def period_labels_of_month(month: str) -> list[str]:
    """A month label and the quarter and year containing it: '2025-08' → 2025-08, 2025-Q3, 2025."""
    year, number = month[:4], int(month[5:])
    return [month, f"{year}-Q{(number - 1) // 3 + 1}", year]


# Periods are integers while a million tickets are grouped (formatting three million labels
# would cost more than the grouping): a month is its month index, a quarter 10⁶ + index // 3,
# a year 2 × 10⁶ + index // 12. Labels are made only for the results.
QUARTER_BASE, YEAR_BASE = 1_000_000, 2_000_000  # month indexes stay below 120,000 (9999-12)


def month_index(local: pl.Expr) -> pl.Expr:
    """Year × 12 + month − 1 of local datetimes: the key of a month (period_key)."""
    return local.dt.year().cast(pl.Int32) * 12 + local.dt.month().cast(pl.Int32) - 1


def period_keys(index: pl.Expr) -> list[pl.Expr]:
    """Month, quarter and year keys of a month index."""
    return [index, QUARTER_BASE + index // 3, YEAR_BASE + index // 12]


def period_key(label: str) -> int:
    """'2025-08' → its month index; '2025-Q3' and '2025' → their quarter and year keys."""
    if len(label) == 4:
        return YEAR_BASE + int(label)
    if label[5] == "Q":
        return QUARTER_BASE + int(label[:4]) * 4 + int(label[6]) - 1
    return int(label[:4]) * 12 + int(label[5:7]) - 1


def period_label(key: int) -> str:
    if key >= YEAR_BASE:
        return f"{key - YEAR_BASE:04d}"
    if key >= QUARTER_BASE:
        quarter = key - QUARTER_BASE
        return f"{quarter // 4:04d}-Q{quarter % 4 + 1}"
    return f"{key // 12:04d}-{key % 12 + 1:02d}"
