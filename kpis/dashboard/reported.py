"""What the MSP's own tool said about a ticket's SLA (its export's verdicts, docs/imports.md,
"The MSP's own SLA verdicts"), put beside the portal's verdict on the ticket's page."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReportedVerdict:
    """The MSP's verdict on one clock: `said` is "met", "breached" or "" (not read as either,
    `raw` then holds what the export had); `differs` when the portal judged it otherwise."""

    said: str
    raw: str
    differs: bool


def reported_verdict(met: bool | None, raw: str, ours: str | None) -> ReportedVerdict | None:
    """None when the export carried no verdict for this clock."""
    if met is None and not raw:
        return None
    said = "" if met is None else ("met" if met else "breached")
    # Only a final verdict of ours can disagree: pending or none is no claim either way.
    differs = bool(said) and ours in ("met", "breached") and ours != said
    return ReportedVerdict(said=said, raw=raw, differs=differs)


def reported_verdicts(ticket, clock) -> dict[str, ReportedVerdict | None]:
    """The MSP's response and resolution verdicts of a ticket, by clock."""
    return {
        "response": reported_verdict(
            ticket.reported_response_met,
            ticket.reported_response_raw,
            clock.response_verdict if clock else None,
        ),
        "resolution": reported_verdict(
            ticket.reported_resolution_met,
            ticket.reported_resolution_raw,
            clock.resolution_verdict if clock else None,
        ),
    }
