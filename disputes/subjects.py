"""What each kind of dispute contests, checked against the measured fact, and said in words.

`measured_fact` checks a request against the ticket (its stored clock, pauses, priority,
exclusion) or the commitment occurrence, and returns the fact it contests in the same shape as
the request (disputes.models.Dispute documents the shapes). `contest_words` says a dispute's
contest for people: no keys, no codes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError

from contracts.models import CommitmentOccurrence
from msp_portal.units import duration

from .models import Dispute

Subject = Dispute.Subject
CLOCKS = ("response", "resolution")  # tuples: a request may hold any JSON (unhashable)
CLOCK_WORDS = {"response": "response time", "resolution": "resolution time"}
VERDICTS = ("met", "breached")
PRIORITIES = ("P1", "P2", "P3", "P4")
TICKET_SUBJECTS = (Subject.VERDICT, Subject.PAUSE, Subject.PRIORITY, Subject.EXCLUSION)
# The keys a request of each subject keeps (anything else sent is dropped).
SHAPES = {
    Subject.VERDICT: ("clock", "verdict"),
    Subject.PAUSE: ("start", "end", "exported_total"),
    Subject.PRIORITY: ("priority",),
    Subject.EXCLUSION: ("counted",),
    Subject.OCCURRENCE: ("status",),
}


def _refuse(message: str, field: str = "requested"):
    raise ValidationError({field: message})


def _instant(text) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if not 1900 <= moment.year <= 2200:
        return None  # no ticket's pause; and a year 1 cannot be shown in any zone
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _clock(ticket):
    clock = getattr(ticket, "clock", None)
    if clock is None:
        _refuse("this ticket's clocks are not computed yet: nothing measured to dispute", "ticket")
    return clock


def _verdict(ticket, requested: dict) -> dict:
    clock_name = requested.get("clock")
    if clock_name not in CLOCKS:
        _refuse("say which clock is contested: response or resolution")
    wanted = requested.get("verdict")
    if wanted not in VERDICTS:
        _refuse("say which verdict is asked: met or breached")
    measured = getattr(_clock(ticket), f"{clock_name}_verdict")
    if measured not in VERDICTS:
        _refuse(f"the ticket has no final {CLOCK_WORDS[clock_name]} verdict to dispute")
    if measured == wanted:
        _refuse(f"the {CLOCK_WORDS[clock_name]} verdict is already {wanted}")
    return {"clock": clock_name, "verdict": measured}


def _pause(ticket, requested: dict) -> dict:
    if requested.get("exported_total") is True:
        if not ticket.paused_minutes:
            _refuse("the export gave this ticket no paused total")
        return {"exported_total": True, "minutes": ticket.paused_minutes}
    start, end = _instant(requested.get("start")), _instant(requested.get("end"))
    if start is None or end is None:
        _refuse("name the paused interval by its start and end (or the exported total)")
    for pair in ticket.paused_intervals or []:
        stored = [_instant(p) for p in pair[:2]]
        if stored == [start, end]:
            return {"start": pair[0], "end": pair[1]}
    _refuse("the clock used no paused interval with that start and end on this ticket")


def _priority(ticket, requested: dict) -> dict:
    wanted = requested.get("priority")
    if wanted not in PRIORITIES:
        _refuse("say which priority is asked: P1, P2, P3 or P4")
    if ticket.priority == wanted:
        _refuse(f"the ticket is already {wanted}")
    return {"priority": ticket.priority}


def _counted(ticket) -> bool:
    clock = getattr(ticket, "clock", None)
    if clock is not None:
        return not clock.no_verdict_reason
    return not ticket.exclude_from_sla


EXCLUDED_BY_EXPORT = "excluded by the export"


def _exclusion(ticket, requested: dict) -> dict:
    wanted = requested.get("counted")
    if not isinstance(wanted, bool):
        _refuse("say whether the ticket should count in the SLA (true) or be left out (false)")
    if _counted(ticket) == wanted:
        already = "already counts in the SLA" if wanted else "is already left out of the SLA"
        _refuse(f"the ticket {already}")
    reason = getattr(getattr(ticket, "clock", None), "no_verdict_reason", "")
    if wanted and reason and reason != EXCLUDED_BY_EXPORT:
        # What an accepted exclusion changes is the export's exclusion (metrics/adjustments.py):
        # a ticket left out for another reason is contested through that reason's own rule.
        _refuse(
            f"the ticket gets no verdict because of its {reason}, not an exclusion: "
            "dispute its priority, or the contract's rules, instead"
            if reason in ("unmapped priority",)
            else f"the ticket gets no verdict because it is '{reason}', not excluded by the export"
        )
    return {"counted": _counted(ticket)}


def occurrence_status(occurrence: CommitmentOccurrence, today) -> str | None:
    """kept or missed as the commitments page judges it today; None while still open (due, or
    done and awaiting the other side's answer)."""
    status = occurrence.status_on(today, occurrence.evidence.count())
    if status == CommitmentOccurrence.Status.KEPT:
        return "kept"
    if status in (
        CommitmentOccurrence.Status.DUE,
        CommitmentOccurrence.Status.AWAITING,
        CommitmentOccurrence.Status.AWAITING_REPORT,
    ):
        return None
    return "missed"


def _occurrence(occurrence, requested: dict, today) -> dict:
    wanted = requested.get("status")
    if wanted not in ("kept", "missed"):
        _refuse("say which status is asked: kept or missed")
    measured = occurrence_status(occurrence, today)
    if measured is None:
        _refuse("this occurrence is not settled yet: nothing measured to dispute")
    if measured == wanted:
        _refuse(f"the occurrence is already {wanted}")
    return {"status": measured}


def measured_fact(subject: str, requested, *, ticket=None, occurrence=None, today=None) -> dict:
    """The measured fact the request contests, or ValidationError naming what is wrong."""
    if not isinstance(requested, dict):
        _refuse("say what is asked instead, as an object")
    if subject in TICKET_SUBJECTS:
        if ticket is None:
            _refuse("name the ticket this dispute is about", "ticket")
        checks = {
            Subject.VERDICT: _verdict,
            Subject.PAUSE: _pause,
            Subject.PRIORITY: _priority,
            Subject.EXCLUSION: _exclusion,
        }
        return checks[subject](ticket, requested)
    if subject == Subject.OCCURRENCE:
        if occurrence is None:
            _refuse("name the commitment occurrence this dispute is about", "occurrence")
        return _occurrence(occurrence, requested, today)
    _refuse(
        "choose what is disputed: a verdict, a pause, a priority, an exclusion or an occurrence",
        "subject",
    )


# --- Words ------------------------------------------------------------------------------------


def _interval_words(fact: dict, zone: ZoneInfo) -> str:
    if fact.get("exported_total"):
        minutes = fact.get("minutes")
        total = f" ({duration(minutes)})" if minutes else ""
        return f"the paused time the export gave{total}"
    start, end = _instant(fact.get("start")), _instant(fact.get("end"))
    if start is None:
        return "a paused interval"
    until = f" to {end.astimezone(zone):%-d %b %Y %H:%M}" if end else ", still paused"
    return f"the pause from {start.astimezone(zone):%-d %b %Y %H:%M}{until}"


def contest_words(dispute: Dispute, zone: ZoneInfo) -> dict[str, str]:
    """{"what": what is contested, "measured": as measured, "requested": what is asked}."""
    requested, measured = dispute.requested or {}, dispute.measured or {}
    subject = dispute.subject
    if subject == Subject.VERDICT:
        clock = CLOCK_WORDS.get(requested.get("clock"), "SLA")
        return {
            "what": f"The {clock} verdict",
            "measured": f"{measured.get('verdict', '—')}",
            "requested": f"{requested.get('verdict', '—')}",
        }
    if subject == Subject.PAUSE:
        return {
            "what": f"The pause: {_interval_words(measured or requested, zone)}",
            "measured": "off the resolution clock",
            "requested": "counted on the resolution clock",
        }
    if subject == Subject.PRIORITY:
        return {
            "what": "The priority",
            "measured": measured.get("priority") or "not mapped",
            "requested": requested.get("priority", "—"),
        }
    if subject == Subject.EXCLUSION:
        words = {True: "counted in the SLA", False: "left out of the SLA"}
        return {
            "what": "Whether the ticket counts in the SLA",
            "measured": words.get(measured.get("counted"), "—"),
            "requested": words.get(requested.get("counted"), "—"),
        }
    return {
        "what": "The commitment occurrence",
        "measured": measured.get("status", "—"),
        "requested": requested.get("status", "—"),
    }


# --- What a form asks ---------------------------------------------------------------------------

OPPOSITE = {"met": "breached", "breached": "met", "kept": "missed", "missed": "kept"}


def requested_from(subject: str, params, *, ticket=None, occurrence=None, today=None) -> dict:
    """The request a form's fields make: the opposite of the measured verdict, exclusion or
    occurrence status; the interval named; the priority chosen ("" until chosen)."""
    if subject == Subject.VERDICT:
        clock_name = params.get("clock", "")
        clock = getattr(ticket, "clock", None) if clock_name in CLOCKS else None
        measured = getattr(clock, f"{clock_name}_verdict", "") if clock else ""
        return {"clock": clock_name, "verdict": OPPOSITE.get(measured, "")}
    if subject == Subject.PAUSE:
        if params.get("exported_total"):
            return {"exported_total": True}
        return {"start": params.get("start", ""), "end": params.get("end", "")}
    if subject == Subject.PRIORITY:
        return {"priority": params.get("priority", "")}
    if subject == Subject.EXCLUSION:
        return {"counted": not _counted(ticket)} if ticket is not None else {}
    if subject == Subject.OCCURRENCE and occurrence is not None:
        return {"status": OPPOSITE.get(occurrence_status(occurrence, today) or "", "")}
    return {}


def ticket_choices(ticket, zone: ZoneInfo) -> list[tuple[str, dict]]:
    """What on this ticket can be disputed, in words (times in `zone`), with the form's query
    for each."""
    clock = getattr(ticket, "clock", None)
    choices = []
    for name in CLOCKS:
        verdict = getattr(clock, f"{name}_verdict", "") if clock else ""
        if verdict in VERDICTS:
            choices.append(
                (
                    f"The {CLOCK_WORDS[name]} verdict ({verdict})",
                    {"subject": Subject.VERDICT, "clock": name},
                )
            )
    for pair in ticket.paused_intervals or []:
        if len(pair) >= 2 and pair[0] and pair[1]:
            fact = {"start": pair[0], "end": pair[1]}
            choices.append(
                (
                    _interval_words(fact, zone).capitalize(),
                    {"subject": Subject.PAUSE, **fact},
                )
            )
    if ticket.paused_minutes:
        words = _interval_words({"exported_total": True, "minutes": ticket.paused_minutes}, zone)
        choices.append((words.capitalize(), {"subject": Subject.PAUSE, "exported_total": "1"}))
    choices.append(
        (f"The priority ({ticket.priority or 'not mapped'})", {"subject": Subject.PRIORITY})
    )
    counted = "counted in the SLA" if _counted(ticket) else "left out of the SLA"
    choices.append((f"Whether it counts in the SLA ({counted})", {"subject": Subject.EXCLUSION}))
    return choices
