"""The SLA clock: business time between instants, exactly, for a million tickets at once.

Pure arithmetic, no ORM. Instants are integer seconds since the Unix epoch (UTC). A calendar is
turned once into its open intervals over a span, with the cumulative open seconds before each;
the open time up to any instant is then one binary search (`searchsorted`), so elapsed business
time for N tickets is a handful of array operations, never a day-by-day loop per ticket.

Rules (docs/kpis.md): weekly windows in the calendar's IANA zone, several a day; an
overnight window is already split at midnight (contracts.rules.parse_weekly_hours); 24:00 ends a
day; a holiday is a local date on which no window opens. Windows are laid out in local wall time
and converted to UTC day by day, so a 00:00–24:00 day is 23 or 25 hours long when the clocks
change; a window edge that falls in a skipped hour moves to the first instant that exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import numpy as np

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class CalendarSpec:
    """When a clock runs: 24x7, or weekly windows in a zone minus holidays (local dates)."""

    zone: str = "UTC"
    weekly_hours: dict[str, list[list[str]]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()
    always: bool = False

    def __hash__(self) -> int:  # dict field: hash what identifies the calendar
        hours = tuple((d, tuple(map(tuple, w))) for d, w in sorted(self.weekly_hours.items()))
        return hash((self.zone, hours, self.holidays, self.always))


def _local_instant(day: date, hhmm: str, zone: ZoneInfo) -> int:
    """Epoch seconds of a local wall time; 24:00 is the next midnight. A wall time that does not
    exist (skipped when the clocks go forward) is the instant the clocks jumped, the first one
    that exists after it."""
    hours, minutes = (int(part) for part in hhmm.split(":"))
    naive = datetime.combine(day, time(0)) + timedelta(hours=hours, minutes=minutes)
    instant = int(naive.replace(tzinfo=zone).timestamp())
    if _wall(instant, zone) == naive:
        return instant
    # In a gap: zoneinfo read it with the offset before the jump, which lands after the gap.
    # Search back for the first instant whose wall time is at or past the asked one.
    low, high = instant - 4 * 3600, instant
    while high - low > 1:
        middle = (low + high) // 2
        if _wall(middle, zone) >= naive:
            high = middle
        else:
            low = middle
    return high


def _wall(instant: int, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(instant, zone).replace(tzinfo=None)


class CalendarIndex:
    """A calendar's open intervals between two dates, ready for vectorised queries."""

    def __init__(self, spec: CalendarSpec, first_day: date, last_day: date):
        self.spec = spec
        self.first_day, self.last_day = first_day, last_day
        if spec.always:
            self.starts = self.ends = self.cum_before = np.empty(0, dtype=np.int64)
            return
        zone = ZoneInfo(spec.zone)
        starts, ends = [], []
        day = first_day - timedelta(days=1)  # a margin: zones ahead of UTC start earlier
        while day <= last_day + timedelta(days=1):
            if day not in spec.holidays:
                for start, end in spec.weekly_hours.get(WEEKDAYS[day.weekday()], []):
                    a, b = _local_instant(day, start, zone), _local_instant(day, end, zone)
                    if b > a:
                        starts.append(a)
                        ends.append(b)
            day += timedelta(days=1)
        order = np.argsort(np.asarray(starts, dtype=np.int64), kind="stable")
        self.starts = np.asarray(starts, dtype=np.int64)[order]
        self.ends = np.asarray(ends, dtype=np.int64)[order]
        lengths = self.ends - self.starts
        self.cum_before = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)

    @cached_property
    def cum_after(self) -> np.ndarray:
        return self.cum_before + (self.ends - self.starts)

    def open_until(self, instants: np.ndarray) -> np.ndarray:
        """Open seconds from the start of the span to each instant (a monotone function)."""
        t = np.asarray(instants, dtype=np.int64)
        if self.spec.always:
            return t
        if self.starts.size == 0:
            return np.zeros_like(t)
        i = np.searchsorted(self.starts, t, side="right") - 1
        safe = np.clip(i, 0, None)
        inside = np.clip(t - self.starts[safe], 0, self.ends[safe] - self.starts[safe])
        return np.where(i >= 0, self.cum_before[safe] + inside, 0)

    def elapsed(self, start: np.ndarray | int, end: np.ndarray | int) -> np.ndarray:
        """Business seconds in [start, end) for each pair; 0 where end <= start."""
        start = np.asarray(start, dtype=np.int64)
        end = np.asarray(end, dtype=np.int64)
        return np.clip(self.open_until(end) - self.open_until(start), 0, None)

    def add(self, instants: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        """The instant when `seconds` of business time have run from each instant: a due time.
        Adding 0 to a closed instant gives the next opening."""
        t = np.asarray(instants, dtype=np.int64)
        seconds = np.asarray(seconds, dtype=np.int64)
        if self.spec.always:
            return t + seconds
        goal = self.open_until(t) + seconds
        # The interval where the cumulative open time reaches the goal.
        i = np.searchsorted(self.cum_after, goal, side="left")
        i = np.where(seconds == 0, np.searchsorted(self.ends, t, side="right"), i)
        if np.any(i >= self.starts.size):
            raise ValueError("a due time falls after the calendar's span; widen the span")
        return self.starts[i] + (goal - self.cum_before[i])


# Epoch seconds of years 1 to 9999 lie within ±2^38: a client's number above that range keeps
# each client's instants apart in one sorted key (room for 2^24 clients).
_INSTANT_OFFSET, _CLIENT_STRIDE = 1 << 38, 1 << 39


def version_in_force(
    created: np.ndarray,
    effective_from: np.ndarray,
    ticket_client: np.ndarray | None = None,
    version_client: np.ndarray | None = None,
) -> np.ndarray:
    """Index of the SLA policy version in force at each creation instant (-1: none yet).
    `effective_from` holds each version's start (local midnight) as epoch seconds, ascending;
    a later version never rewrites the results of tickets created before it. With clients
    given, a ticket only takes a version of its own client, and the versions are sorted by
    client, then start."""
    if ticket_client is None or version_client is None:
        return np.searchsorted(effective_from, created, side="right") - 1
    keys = version_client * _CLIENT_STRIDE + effective_from + _INSTANT_OFFSET
    found = (
        np.searchsorted(
            keys, ticket_client * _CLIENT_STRIDE + created + _INSTANT_OFFSET, side="right"
        )
        - 1
    )
    own = (found >= 0) & (version_client[np.maximum(found, 0)] == ticket_client)
    return np.where(own, found, -1)


# --- Tickets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Intervals:
    """Intervals of many tickets, flat: ticket index, start and end (epoch seconds)."""

    ticket: np.ndarray
    start: np.ndarray
    end: np.ndarray

    @classmethod
    def empty(cls) -> Intervals:
        none = np.empty(0, dtype=np.int64)
        return cls(none, none, none)

    def subset(self, rows: np.ndarray, tickets: int) -> Intervals:
        """The intervals of the tickets `rows` (of `tickets`), renumbered by position in rows."""
        position = np.full(tickets, -1, dtype=np.int64)
        position[rows] = np.arange(rows.size)
        mine = position[self.ticket]
        keep = mine >= 0
        return Intervals(mine[keep], self.start[keep], self.end[keep])

    def without(self, removed: Intervals) -> Intervals:
        """These intervals less those equal to one of `removed` (same ticket, start and end):
        a pause an accepted dispute says the clock must not take (metrics/adjustments.py)."""
        if removed.ticket.size == 0 or self.ticket.size == 0:
            return self
        gone = set(
            zip(removed.ticket.tolist(), removed.start.tolist(), removed.end.tolist(), strict=True)
        )
        keep = np.array(
            [
                (t, s, e) not in gone
                for t, s, e in zip(
                    self.ticket.tolist(), self.start.tolist(), self.end.tolist(), strict=True
                )
            ],
            dtype=bool,
        )
        return Intervals(self.ticket[keep], self.start[keep], self.end[keep])


def union_elapsed(
    calendar: CalendarIndex,
    intervals: Intervals,
    lower: np.ndarray,
    upper: np.ndarray,
    tickets: int,
) -> np.ndarray:
    """Business seconds per ticket covered by the union of its intervals, clipped to
    [lower, upper) of that ticket. Overlapping intervals count once."""
    out = np.zeros(tickets, dtype=np.int64)
    if intervals.ticket.size == 0:
        return out
    ticket = intervals.ticket.astype(np.int64)
    start = np.maximum(intervals.start, lower[ticket])
    end = np.minimum(intervals.end, upper[ticket])
    keep = end > start
    ticket, start, end = ticket[keep], start[keep], end[keep]
    if ticket.size == 0:
        return out
    order = np.lexsort((start, ticket))
    ticket, start, end = ticket[order], start[order], end[order]
    # Running maximum of earlier ends within each ticket: the part of an interval already
    # covered by an earlier one is cut off, so the union is measured without merging.
    offset = ticket * (1 << 40)
    running = np.maximum.accumulate(end + offset) - offset
    covered = np.empty_like(running)
    covered[0] = np.iinfo(np.int64).min
    covered[1:] = running[:-1]
    covered[np.r_[True, ticket[1:] != ticket[:-1]]] = np.iinfo(np.int64).min
    start = np.maximum(start, covered)
    end = np.maximum(end, start)
    np.add.at(out, ticket, calendar.elapsed(start, end))
    return out


@dataclass(frozen=True)
class ClockResult:
    """Per ticket: business seconds on each clock, and the verdict codes."""

    response_seconds: np.ndarray  # -1 where there is no first response yet
    resolution_seconds: np.ndarray  # to resolution, or to `as_of` for an open ticket
    response_code: np.ndarray  # verdict codes: index into VERDICTS
    resolution_code: np.ndarray
    # The breach moment (docs/kpis.md): when the running resolution clock reached its target;
    # -1 unless the resolution verdict is breached.
    resolution_breached_at: np.ndarray | None = None
    # An exported pause total longer than the ticket was open: no resolution verdict
    # (docs/kpis.md, "The clock"); the caller names the reason.
    paused_too_long: np.ndarray | None = None

    @property
    def response_verdict(self) -> np.ndarray:  # "met" | "breached" | "pending" | "" (no target)
        return np.asarray(VERDICTS, dtype=object)[self.response_code]

    @property
    def resolution_verdict(self) -> np.ndarray:
        return np.asarray(VERDICTS, dtype=object)[self.resolution_code]


VERDICTS = ("met", "breached", "pending", "")  # verdict codes 0–3 name these


def verdict_codes(elapsed: np.ndarray, target: np.ndarray, finished: np.ndarray) -> np.ndarray:
    """met (0) when elapsed <= target; breached (1) when above (final even while open); pending
    (2) while open and within target; no verdict (3) where there is no target (target < 0).
    Codes, not strings: a million strings cost more than the clock itself."""
    within = elapsed <= target
    codes = np.where(within, 0, 1).astype(np.int8)
    codes[~finished & within] = 2
    codes[target < 0] = 3
    return codes


def verdicts(elapsed: np.ndarray, target: np.ndarray, finished: np.ndarray) -> np.ndarray:
    """The verdicts as words (see verdict_codes)."""
    return np.asarray(VERDICTS, dtype=object)[verdict_codes(elapsed, target, finished)]


def exported_pause(
    gross: np.ndarray, wall: np.ndarray, paused: np.ndarray, calendar_time: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The business seconds an exported pause total takes off the resolution clock, and
    whether the total is longer than the ticket was open (docs/kpis.md, "The clock").

    `gross` is the ticket's business seconds from creation to the stop, `wall` its wall-clock
    seconds over the same span, `paused` the exported total in seconds, `calendar_time` whether
    that total counts wall-clock time (else the tool's business time). A business total comes
    off as it is. A calendar total has no place in time, so it takes off the same share of the
    business time as of the wall-clock time: gross × paused / wall, rounded down to the second.
    A total longer than the span (wall-clock for a calendar total, business for a business
    one) is too long; it takes off everything (the clock reads 0) and is flagged."""
    gross = np.asarray(gross, dtype=np.int64)
    wall = np.asarray(wall, dtype=np.int64)
    paused = np.maximum(np.asarray(paused, dtype=np.int64), 0)
    calendar_time = np.asarray(calendar_time, dtype=bool)
    span = np.where(calendar_time, np.maximum(wall, 0), gross)
    too_long = paused > span
    share = np.where(wall > 0, np.minimum(paused, np.maximum(wall, 1)) / np.maximum(wall, 1), 0.0)
    scaled = np.floor(gross * share).astype(np.int64)
    off = np.where(calendar_time, scaled, paused)
    return np.clip(off, 0, gross), too_long


def ticket_clocks(
    calendar: CalendarIndex,
    *,
    created: np.ndarray,
    first_response: np.ndarray,
    resolved: np.ndarray,
    response_target: np.ndarray,
    resolution_target: np.ndarray,
    pauses: Intervals,
    reopen_gaps: Intervals,
    paused_seconds_exported: np.ndarray,
    as_of: int,
    response_calendar: CalendarIndex | None = None,
    paused_exported_calendar: np.ndarray | None = None,
) -> ClockResult:
    """Both clocks for tickets that share a calendar (group tickets by calendar first).

    Instants are epoch seconds, -1 for missing. Targets are seconds, -1 for none. The response
    clock runs from creation to first response and is never paused. The resolution clock runs
    from creation to the final resolution (or `as_of` while open) minus the business time of
    the union of pauses and resolved-to-reopen gaps, minus an exported paused total where the
    export has no history: in business seconds, or in wall-clock seconds where
    `paused_exported_calendar` says so (see exported_pause; None: all business). A ticket whose
    total is longer than it was open gets no resolution verdict (`paused_too_long`).
    """
    response_calendar = response_calendar or calendar
    n = created.size
    responded = first_response >= 0
    response = np.where(
        responded, response_calendar.elapsed(created, np.where(responded, first_response, 0)), -1
    )
    response_running = np.where(responded, response, response_calendar.elapsed(created, as_of))
    finished = resolved >= 0
    stop = np.where(finished, resolved, as_of)
    gross = calendar.elapsed(created, stop)
    off_clock = Intervals(
        np.concatenate((pauses.ticket, reopen_gaps.ticket)),
        np.concatenate((pauses.start, reopen_gaps.start)),
        np.concatenate((pauses.end, reopen_gaps.end)),
    )
    # An interval still running (end -1) runs to the stop instant.
    off_clock = Intervals(
        off_clock.ticket,
        off_clock.start,
        np.where(off_clock.end < 0, stop[off_clock.ticket.astype(np.int64)], off_clock.end),
    )
    paused = union_elapsed(calendar, off_clock, created, stop, n)
    calendar_time = (
        np.zeros(n, dtype=bool) if paused_exported_calendar is None else paused_exported_calendar
    )
    exported, too_long = exported_pause(
        gross, stop - created, paused_seconds_exported, calendar_time
    )
    resolution = np.clip(gross - paused - exported, 0, None)
    resolution_code = verdict_codes(resolution, resolution_target, finished)
    resolution_code[too_long] = VERDICTS.index("")
    return ClockResult(
        response_seconds=response,
        resolution_seconds=resolution,
        response_code=verdict_codes(response_running, response_target, responded),
        resolution_code=resolution_code,
        resolution_breached_at=breach_moments(
            calendar, off_clock, created, stop, resolution_target, exported, resolution_code == 1
        ),
        paused_too_long=too_long,
    )


def _merged(intervals: Intervals, lower: np.ndarray, upper: np.ndarray) -> Intervals:
    """The union of each ticket's intervals clipped to [lower, upper) of that ticket, as
    disjoint intervals sorted by ticket, then start (touching intervals are merged)."""
    ticket = intervals.ticket.astype(np.int64)
    start = np.maximum(intervals.start, lower[ticket])
    end = np.minimum(intervals.end, upper[ticket])
    keep = end > start
    ticket, start, end = ticket[keep], start[keep], end[keep]
    if ticket.size == 0:
        return Intervals.empty()
    order = np.lexsort((start, ticket))
    ticket, start, end = ticket[order], start[order], end[order]
    # As in union_elapsed: the running maximum of earlier ends within a ticket; an interval
    # opens a new block when it starts after everything before it has ended.
    offset = ticket * (1 << 40)
    running = np.maximum.accumulate(end + offset) - offset
    first = np.r_[True, ticket[1:] != ticket[:-1]]
    opens = first.copy()
    opens[1:] |= start[1:] > running[:-1]
    heads = np.flatnonzero(opens)
    return Intervals(ticket[heads], start[heads], np.maximum.reduceat(end, heads))


def breach_moments(
    calendar: CalendarIndex,
    off_clock: Intervals,
    created: np.ndarray,
    stop: np.ndarray,
    target: np.ndarray,
    exported: np.ndarray,
    breached: np.ndarray,
) -> np.ndarray:
    """The breach moment of each `breached` ticket (docs/kpis.md), -1 for the others: the first
    instant at which its running resolution clock reached the target.

    The clock runs in the ticket's on-clock segments: creation to the first off-clock block
    (pauses and reopen gaps, merged), each block's end to the next block, the last block's end
    to the stop. Each segment's business length, summed per ticket in order, says in which
    segment the clock reaches the goal; `CalendarIndex.add` finds the instant within it. An
    exported paused total has no place in time: it is taken as spent before the breach, so the
    goal is the target plus that total (the latest the breach can have been). A target of 0 is
    reached at creation."""
    n = created.size
    out = np.full(n, -1, dtype=np.int64)
    goal = target + exported
    zero = breached & (target == 0)
    out[zero] = created[zero]
    wanted = breached & (target > 0)
    if not wanted.any():
        return out
    rows = np.flatnonzero(wanted)
    blocks = _merged(off_clock.subset(rows, n), created[rows], stop[rows])
    # Most tickets never leave the clock: their target is simply added to the creation.
    interrupted = np.zeros(rows.size, dtype=bool)
    interrupted[blocks.ticket] = True
    plain = rows[~interrupted]
    out[plain] = calendar.add(created[plain], goal[plain])
    if not blocks.ticket.size:
        return out
    # The others, renumbered 0..k-1 in the order of `rows`.
    number = np.cumsum(interrupted) - 1
    rows, block_ticket = rows[interrupted], number[blocks.ticket]
    k = rows.size
    # A segment before each block (from the previous block's end, or the creation), and one
    # after the last block to the stop.
    first_block = np.r_[True, block_ticket[1:] != block_ticket[:-1]]
    previous_end = np.where(first_block, created[rows][block_ticket], np.r_[0, blocks.end[:-1]])
    last_end = np.zeros(k, dtype=np.int64)
    np.maximum.at(last_end, block_ticket, blocks.end)  # a ticket's last block ends last
    # Blocks are sorted by ticket, then start: a stable sort by ticket puts each ticket's final
    # segment after its blocks' segments.
    ticket = np.concatenate((block_ticket, np.arange(k)))
    order = np.argsort(ticket, kind="stable")
    ticket = ticket[order]
    start = np.concatenate((previous_end, last_end))[order]
    end = np.concatenate((blocks.start, stop[rows]))[order]
    length = calendar.elapsed(start, end)
    total = np.cumsum(length)
    before_ticket = np.zeros(k, dtype=np.int64)  # business seconds of earlier tickets' segments
    heads = np.flatnonzero(np.r_[True, ticket[1:] != ticket[:-1]])
    before_ticket[ticket[heads]] = total[heads] - length[heads]
    after = total - before_ticket[ticket]
    before = after - length
    mine = goal[rows][ticket]
    hit = (before < mine) & (mine <= after)
    # One segment per ticket reaches the goal (zero-length segments never do).
    out[rows[ticket[hit]]] = calendar.add(start[hit], mine[hit] - before[hit])
    return out
