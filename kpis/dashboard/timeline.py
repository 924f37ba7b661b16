"""A ticket's story in order: created, first response, escalation, pauses, resolutions and
reopens, closure. An event-log ticket's story is its stored history (kpis.TicketEvent), each
status, assignee and group change as it happened, with the clock's pauses named by the policy's
pause states; a one-row ticket's is read from its fields. Pure apart from reading attributes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from kpis.imports.ingest.presets import value_key


@dataclass(frozen=True)
class Event:
    at: datetime
    what: str
    kind: str  # start | response | escalation | pause | resume | resolved | reopened | closed


def _instant(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def ticket_timeline(ticket, history=(), pause_states=()) -> list[Event]:
    """`history`: the ticket's stored updates in order (empty for a one-row export);
    `pause_states`: the raw statuses its policy version pauses on, as presets.value_key keys."""
    if history:
        return _from_history(ticket, list(history), set(pause_states))
    events = [Event(ticket.created_at, "Created", "start")]
    if ticket.first_response_at:
        events.append(Event(ticket.first_response_at, "First response", "response"))
    if ticket.escalated_at:
        tier = f" (reached tier {ticket.tier})" if ticket.tier else ""
        events.append(Event(ticket.escalated_at, f"Escalated above tier 1{tier}", "escalation"))
    for start, end in (_pair(p) for p in ticket.paused_intervals or []):
        if start:
            events.append(Event(start, "Paused (off the resolution clock)", "pause"))
        if end:
            events.append(Event(end, "Work resumed", "resume"))
    for resolved, reopened in (_pair(p) for p in ticket.reopen_gaps or []):
        if resolved:
            events.append(Event(resolved, "Resolved", "resolved"))
        if reopened:
            events.append(Event(reopened, "Reopened", "reopened"))
    if ticket.resolved_at:
        events.append(Event(ticket.resolved_at, "Resolved (final)", "resolved"))
    if ticket.closed_at:
        events.append(Event(ticket.closed_at, "Closed", "closed"))
    order = {"start": 0, "response": 1, "escalation": 2, "resume": 3, "reopened": 3}
    return sorted(events, key=lambda e: (e.at, order.get(e.kind, 4)))


def _pair(pair) -> tuple[datetime | None, datetime | None]:
    start = pair[0] if len(pair) > 0 else None
    end = pair[1] if len(pair) > 1 else None
    return _instant(start), _instant(end)


def _from_history(ticket, history, pause_states: set[str]) -> list[Event]:
    """Every change the updates record, then what the fold made of them (first response,
    escalation, final resolution), in time order."""
    events = [Event(ticket.created_at, "Created", "start")]
    if not pause_states:
        # A policy that lists none leaves the pauses the import's mapping named (metrics/
        # history.py): the statuses in force when the stored intervals start.
        starts = {_pair(p)[0] for p in ticket.paused_intervals or []}
        pause_states = {value_key(u.status_raw) for u in history if u.at in starts}
    previous = None
    for update in history:
        if previous is None or update.status_raw != previous.status_raw:
            events.append(_status_event(update, previous, pause_states))
        if update.assignee and (previous is None or update.assignee != previous.assignee):
            events.append(Event(update.at, f"Assigned to {update.assignee}", "assign"))
        group = update.assignment_group
        if group and previous is not None and group != previous.assignment_group:
            events.append(Event(update.at, f"Moved to {group}", "assign"))
        previous = update
    if ticket.first_response_at:
        events.append(Event(ticket.first_response_at, "First response", "response"))
    if ticket.escalated_at:
        tier = f" (reached tier {ticket.tier})" if ticket.tier else ""
        events.append(Event(ticket.escalated_at, f"Escalated above tier 1{tier}", "escalation"))
    if ticket.resolved_at:
        events.append(Event(ticket.resolved_at, "Resolved (final)", "resolved"))
    order = {"start": 0, "response": 2, "escalation": 3, "resolved": 4}
    return sorted(events, key=lambda e: (e.at, order.get(e.kind, 1)))


_KIND_OF_STATE = {"resolved": "resolved", "closed": "closed", "cancelled": "closed"}


def _status_event(update, previous, pause_states: set[str]) -> Event:
    status = update.status_raw or update.get_state_display()
    paused = value_key(update.status_raw) in pause_states
    was_paused = previous is not None and value_key(previous.status_raw) in pause_states
    was_done = previous is not None and previous.state in ("resolved", "closed")
    if paused:
        return Event(update.at, f"{status}: clock paused", "pause")
    if was_done and update.state in ("new", "open", "paused"):
        return Event(update.at, f"Reopened: {status}", "reopened")
    kind = _KIND_OF_STATE.get(update.state, "resume" if was_paused else "status")
    suffix = ": clock running again" if was_paused else ""
    return Event(update.at, f"{status}{suffix}", kind)
