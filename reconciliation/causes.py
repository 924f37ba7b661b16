"""Why the MSP's verdict on a ticket differs from the portal's: the ticket is timed again by the
pure SLA clock (kpis/metrics/clock.py) with one thing changed at a time, and the first change
that turns the portal's verdict into the MSP's names the likely cause (docs/reconciliation.md).

Pure: plain values in, a cause out; no ORM. Instants are epoch seconds, -1 for none.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import numpy as np

from kpis.metrics.clock import CalendarIndex, CalendarSpec, Intervals, ticket_clocks

RESPONSE, RESOLUTION = "response", "resolution"
JUDGED = ("met", "breached")  # the verdicts compliance counts; pending and none are not compared


class Cause(StrEnum):
    """A likely cause of a difference, in the order the causes are tried."""

    EXCLUDED = "excluded"
    MISSING = "missing"
    UNLISTED_PAUSE = "unlisted_pause"
    UNCOUNTED_PAUSE = "uncounted_pause"
    HOLIDAY = "holiday"
    CALENDAR = "calendar"
    STOPPED_AT_CLOSE = "stopped_at_close"
    FIRST_TOUCH = "first_touch"
    PRIORITY = "priority"
    UNEXPLAINED = "unexplained"


# What each cause reads as on a page, in a PDF and in the command's text output.
CAUSE_WORDS = {
    Cause.EXCLUDED: "a ticket the MSP excluded",
    Cause.MISSING: "a ticket missing from the MSP's figures",
    Cause.UNLISTED_PAUSE: "waiting time the contract does not pause",
    Cause.UNCOUNTED_PAUSE: "a pause the contract lists that the MSP did not count",
    Cause.HOLIDAY: "a holiday of the contract the MSP did not observe",
    Cause.CALENDAR: "timed round the clock, not in the contract's hours",
    Cause.STOPPED_AT_CLOSE: "the clock stopped at the closing, not at the resolution",
    Cause.FIRST_TOUCH: "the clock stopped at the first touch, not at the first response",
    Cause.PRIORITY: "timed under another priority (changed after creation)",
    Cause.UNEXPLAINED: "no cause found in the data",
}

# A reported value that says the PSA left the ticket out of its SLA figures.
_EXCLUDED_WORDS = re.compile(
    r"^(n/?a|not applicable|excluded?( from sla)?|exempt(ed)?|no sla|not measured)$"
)
# A status that is waiting of some kind, whether or not the contract pauses the clock for it.
_WAITING = re.compile(r"wait|pend|hold|await|suspend")


@dataclass(frozen=True)
class Target:
    """One priority's targets, in seconds, and the calendar both clocks run in."""

    response_seconds: int
    resolution_seconds: int
    calendar: CalendarIndex


@dataclass(frozen=True)
class Terms:
    """The policy version a ticket was judged under: targets by priority, and the pause states
    it lists (keyed like presets.value_key: lower case, single spaces)."""

    targets: dict[str, Target]
    pause_states: frozenset[str]


@dataclass(frozen=True)
class Update:
    """One update of a ticket's history: when, the status then (keyed), its normalised state,
    and its assignee."""

    at: int
    status_key: str
    state: str = ""
    assignee: str = ""


@dataclass(frozen=True)
class TicketFacts:
    """What the portal timed a ticket from, as it stands after the last recompute."""

    ticket_id: int
    priority: str
    created: int
    as_of: int  # when its clocks were computed: an open ticket's clock runs to here
    first_response: int = -1
    resolved: int = -1
    closed: int = -1
    pauses: tuple[tuple[int, int], ...] = ()  # the intervals the portal took off (end -1: running)
    reopen_gaps: tuple[tuple[int, int], ...] = ()
    paused_seconds_exported: int = 0
    paused_exported_calendar: bool = True
    history: tuple[Update, ...] = ()
    excluded_by_export: bool = False


@dataclass(frozen=True)
class Claim:
    """One clock of a ticket: the portal's verdict and what the MSP's export says of it."""

    clock: str  # response | resolution
    measured: str  # met | breached | pending | ""
    reported: bool | None  # None: no verdict in the export
    raw: str = ""
    column_in_export: bool = True  # the ticket's export carries the verdict column at all

    @property
    def excluded(self) -> bool:
        return _EXCLUDED_WORDS.match(" ".join(self.raw.lower().split())) is not None

    @property
    def reported_word(self) -> str:
        """The MSP's verdict in the portal's words: met, breached, excluded or missing."""
        if self.reported is not None:
            return "met" if self.reported else "breached"
        return "excluded" if self.excluded else "missing"


def claim_differs(claim: Claim, *, excluded_by_export: bool = False) -> bool:
    """Whether the MSP's treatment of a judged ticket differs from the portal's verdict: the
    opposite verdict, an exclusion, or no verdict where its export has the column."""
    if claim.measured not in JUDGED:
        return False
    if excluded_by_export or claim.excluded:
        return True
    if claim.reported is None:
        return claim.column_in_export
    return claim.reported != (claim.measured == "met")


def difference_cause(facts: TicketFacts, terms: Terms, claim: Claim) -> Cause | None:
    """The likely cause of the difference on one clock of a ticket (None: no difference)."""
    if not claim_differs(claim, excluded_by_export=facts.excluded_by_export):
        return None
    if facts.excluded_by_export or claim.excluded:
        return Cause.EXCLUDED
    if claim.reported is None:
        return Cause.MISSING
    wanted = "met" if claim.reported else "breached"
    for cause, variant, calendar in _variants(facts, terms, claim.clock):
        if verdicts_of(variant, terms, calendar=calendar)[claim.clock] == wanted:
            return cause
    return Cause.UNEXPLAINED


CalendarChange = Callable[[CalendarIndex], CalendarIndex] | None


def _variants(
    facts: TicketFacts, terms: Terms, clock: str
) -> Iterator[tuple[Cause, TicketFacts, CalendarChange]]:
    """The ticket with one thing changed, for each cause that could apply to it, in order."""
    target = terms.targets.get(facts.priority)
    if target is None:
        return
    replace = dataclasses.replace
    if clock == RESOLUTION:
        waiting = unlisted_waiting(facts, terms)
        if waiting:
            yield Cause.UNLISTED_PAUSE, replace(facts, pauses=facts.pauses + waiting), None
        if facts.pauses or facts.paused_seconds_exported:
            yield Cause.UNCOUNTED_PAUSE, replace(facts, pauses=(), paused_seconds_exported=0), None
    if not target.calendar.spec.always:
        # The smaller change first: a holiday the MSP worked through, then no calendar at all.
        if target.calendar.spec.holidays:
            yield Cause.HOLIDAY, facts, without_holidays
        yield Cause.CALENDAR, facts, round_the_clock
    if clock == RESOLUTION and facts.closed >= 0 and facts.closed != facts.resolved:
        yield Cause.STOPPED_AT_CLOSE, replace(facts, resolved=facts.closed), None
    touched = first_touch(facts)
    if clock == RESPONSE and touched >= 0 and touched != facts.first_response:
        yield Cause.FIRST_TOUCH, replace(facts, first_response=touched), None
    for priority in sorted(terms.targets):
        if priority != facts.priority:
            yield Cause.PRIORITY, replace(facts, priority=priority), None


def unlisted_waiting(facts: TicketFacts, terms: Terms) -> tuple[tuple[int, int], ...]:
    """The history's intervals in a waiting status the policy does not list as a pause state:
    from the update that entered it to the next update (still running after the last)."""
    out = []
    updates = facts.history
    for position, update in enumerate(updates):
        waiting = update.state == "paused" or _WAITING.search(update.status_key)
        if waiting and update.status_key not in terms.pause_states:
            end = updates[position + 1].at if position + 1 < len(updates) else -1
            out.append((update.at, end))
    return tuple(out)


def first_touch(facts: TicketFacts) -> int:
    """The first update after the creation, or the first assignment: when somebody first
    touched the ticket, whatever its state (-1: its history does not say)."""
    touches = [u.at for u in facts.history if u.at > facts.created or u.assignee]
    return min(touches) if touches else -1


@lru_cache(maxsize=32)
def round_the_clock(calendar: CalendarIndex) -> CalendarIndex:
    """The same span, open 24x7."""
    return CalendarIndex(CalendarSpec(always=True), calendar.first_day, calendar.last_day)


@lru_cache(maxsize=32)
def without_holidays(calendar: CalendarIndex) -> CalendarIndex:
    """The same business hours and span, with no holiday."""
    spec = dataclasses.replace(calendar.spec, holidays=frozenset())
    return CalendarIndex(spec, calendar.first_day, calendar.last_day)


def _intervals(pairs: tuple[tuple[int, int], ...]) -> Intervals:
    if not pairs:
        return Intervals.empty()
    return Intervals(
        np.zeros(len(pairs), dtype=np.int64),
        np.array([start for start, _ in pairs], dtype=np.int64),
        np.array([end for _, end in pairs], dtype=np.int64),
    )


def verdicts_of(
    facts: TicketFacts, terms: Terms, *, calendar: CalendarChange = None
) -> dict[str, str]:
    """Both verdicts of one ticket as the portal's clock gives them ("" without a target),
    the calendar changed by `calendar` when given."""
    target = terms.targets.get(facts.priority)
    if target is None:
        return {RESPONSE: "", RESOLUTION: ""}
    index = calendar(target.calendar) if calendar else target.calendar

    def one(value: int) -> np.ndarray:
        return np.array([value], dtype=np.int64)

    result = ticket_clocks(
        index,
        created=one(facts.created),
        first_response=one(facts.first_response),
        resolved=one(facts.resolved),
        response_target=one(target.response_seconds),
        resolution_target=one(target.resolution_seconds),
        pauses=_intervals(facts.pauses),
        reopen_gaps=_intervals(facts.reopen_gaps),
        paused_seconds_exported=one(facts.paused_seconds_exported),
        as_of=facts.as_of,
        paused_exported_calendar=np.array([facts.paused_exported_calendar]),
    )
    return {
        RESPONSE: str(result.response_verdict[0]),
        RESOLUTION: str(result.resolution_verdict[0]),
    }


@dataclass(frozen=True)
class CauseCount:
    """How many of the differences one cause explains, said in words."""

    cause: Cause
    count: int
    total: int

    @property
    def words(self) -> str:
        noun = "difference" if self.total == 1 else "differences"
        return f"{self.count} of {self.total} {noun}: {CAUSE_WORDS[self.cause]}"


def causes_counted(causes: list[Cause]) -> list[CauseCount]:
    """The causes by how many differences each explains, most first (ties in cause order)."""
    order = list(Cause)
    counts: dict[Cause, int] = {}
    for cause in causes:
        counts[cause] = counts.get(cause, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], order.index(item[0])))
    return [CauseCount(cause, count, len(causes)) for cause, count in ranked]
