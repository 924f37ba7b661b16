"""The MSP side's window to answer a dispute: the contract's number of business days after the
day it was opened, counted in the contract's time zone. A business day is a weekday that is not
a holiday of the contract's business calendar (the same holidays the SLA clock skips); the
dispute is due at the end of the last one."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from kpis.metrics.policy_clocks import calendar_holidays

SATURDAY = 5


def business_calendar(contract, on: date):
    """The calendar whose holidays the window skips: the SLA version in force's calendar named
    "business", else its first calendar with hours; None when it has only 24x7 ones (then
    every weekday counts)."""
    policy = contract.current_policy(on=on)
    if policy is None:
        return None
    calendars = [c for c in policy.calendars.all() if not c.is_24x7]
    named = [c for c in calendars if c.key == "business"]
    return (named or calendars or [None])[0]


def add_business_days(start: date, days: int, holidays: frozenset[date]) -> date:
    """The `days`-th business day after `start` (weekdays, holidays skipped)."""
    day, left = start, days
    while left > 0:
        day += timedelta(days=1)
        if day.weekday() < SATURDAY and day not in holidays:
            left -= 1
    return day


def dispute_due_at(contract, opened_at: datetime) -> datetime:
    """The end of the window for a dispute opened at `opened_at` under this contract."""
    zone = ZoneInfo(contract.timezone)
    opened_day = opened_at.astimezone(zone).date()
    calendar = business_calendar(contract, opened_day)
    # The window is at most a few weeks: holidays of this year and the next cover it.
    years = range(opened_day.year, opened_day.year + 2)
    holidays = calendar_holidays(calendar, years) if calendar is not None else frozenset()
    last_day = add_business_days(opened_day, contract.dispute_window_days, holidays)
    return datetime.combine(last_day, time.max, tzinfo=zone)
