"""Disputes written: opened by the client side, answered by the MSP side, withdrawn by the
opener's side, settled by the contract's rule once the window has passed. Every step is in the
audit trail and mails the other side; nothing is deleted. An accepted dispute recomputes the
client's figures, which apply it as an adjustment (the agreed figures)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from contracts.models import AuditEvent, Contract
from contracts.services.audit import audit_record
from msp_portal.jobs import Locks, recompute_after_commit

from .models import Dispute
from .notify import notify_after_commit
from .subjects import SHAPES, TICKET_SUBJECTS, contest_words, measured_fact
from .window import dispute_due_at

Status = Dispute.Status
Subject = Dispute.Subject
REASON_MAX = 4000


def _reason(text, field: str = "reason") -> str:
    reason = (text or "").strip()
    if not reason:
        raise ValidationError({field: "give the reason in a few words"})
    if len(reason) > REASON_MAX:
        raise ValidationError({field: f"keep the reason under {REASON_MAX} characters"})
    return reason


def _audit(dispute: Dispute, *, actor, source: str, action: str, changes: dict) -> None:
    audit_record(
        actor=actor,
        source=source,
        contract=dispute.contract,
        action=action,
        obj=dispute,
        changes=changes,
        kind=AuditEvent.Kind.DISPUTES,
    )


def _contest_change(dispute: Dispute) -> list[str]:
    words = contest_words(dispute, ZoneInfo(dispute.contract.timezone))
    return [f"{words['what']}: {words['measured']}", f"{words['what']}: {words['requested']}"]


def ticket_label(ticket) -> str:
    title = f": {ticket.title[:100]}" if ticket.title else ""
    return f"{ticket.source_system} {ticket.external_id}{title}"[:200]


def _already_open(contract, subject, ticket, occurrence, measured) -> bool:
    return Dispute.objects.filter(
        contract=contract,
        subject=subject,
        ticket=ticket,
        occurrence=occurrence,
        measured=measured,
        status=Status.OPEN,
    ).exists()


def dispute_open(
    *,
    contract: Contract,
    actor,
    subject: str,
    requested,
    reason: str,
    ticket=None,
    occurrence=None,
    source: str = AuditEvent.Source.WEB,
) -> Dispute:
    """Contest one measured fact of the contract's client; due in the contract's window."""
    reason = _reason(reason)
    if subject in TICKET_SUBJECTS:
        occurrence = None
        if ticket is not None and ticket.client_id != contract.client_id:
            raise ValidationError({"ticket": "no such ticket of this client"})
    else:
        ticket = None
        if occurrence is not None and occurrence.commitment.contract_id != contract.pk:
            raise ValidationError({"occurrence": "no such occurrence of this contract"})
    measured = measured_fact(
        subject, requested, ticket=ticket, occurrence=occurrence, today=contract.today()
    )
    if subject == Subject.PAUSE:
        # Stored as the pause the clock took, matched above: what an accepted one removes is
        # exactly that pause, whatever else the request carried.
        requested = (
            {"exported_total": True}
            if measured.get("exported_total")
            else {"start": measured["start"], "end": measured["end"]}
        )
    else:
        requested = {key: requested[key] for key in SHAPES[subject] if key in requested}
    now = timezone.now()
    with transaction.atomic():
        # One opening at a time per contract, so a double submit cannot open the same dispute
        # twice: the second waits for the first to commit, then finds it open.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [Locks.DISPUTE_OPEN, contract.pk]
            )
        if _already_open(contract, subject, ticket, occurrence, measured):
            raise ValidationError(
                {"subject": "an open dispute already contests this; answer it first"}
            )
        dispute = Dispute.objects.create(
            contract=contract,
            client=contract.client,
            subject=subject,
            ticket=ticket,
            ticket_label=ticket_label(ticket) if ticket is not None else "",
            occurrence=occurrence,
            requested=requested,
            measured=measured,
            reason=reason,
            opened_by=actor if actor is not None and actor.is_authenticated else None,
            opened_at=now,
            due_at=dispute_due_at(contract, now),
        )
        _audit(
            dispute,
            actor=actor,
            source=source,
            action="open",
            changes={
                "status": [None, Status.OPEN],
                # In words, as the trail shows it: the fact as measured → as asked.
                "contested": _contest_change(dispute),
                "reason": [None, reason],
            },
        )
        notify_after_commit(dispute, "opened")
    return dispute


def _close(dispute: Dispute, values: dict, from_states=(Status.OPEN,)) -> bool:
    """Move an open dispute to its end state, once: a second answer (two people at once, a
    beat run beside a page) finds it no longer open and changes nothing. An escalated dispute
    is still answerable: escalation hands it to people, who settle it in the portal."""
    moved = Dispute.objects.filter(pk=dispute.pk, status__in=from_states).update(**values)
    if moved:
        for name, value in values.items():
            setattr(dispute, name, value)
    return bool(moved)


def _not_open(dispute: Dispute) -> ValidationError:
    dispute.refresh_from_db(fields=["status"])
    return ValidationError(
        {"status": f"this dispute is already {dispute.get_status_display().lower()}"}
    )


def dispute_answer(
    *, dispute: Dispute, actor, accept: bool, reason: str, source: str = AuditEvent.Source.WEB
) -> Dispute:
    """The MSP side accepts (the agreed figures change) or rejects, with its reason. Past the
    window an open dispute follows the contract's rule first (the answer came too late); an
    escalated one is answered when the people it went to have agreed."""
    reason = _reason(reason)
    status = Status.ACCEPTED if accept else Status.REJECTED
    if dispute.status == Status.OPEN and dispute.due_at < timezone.now():
        disputes_settle_overdue(within=Dispute.objects.filter(pk=dispute.pk), source=source)
        dispute.refresh_from_db()
    before = dispute.status
    with transaction.atomic():
        values = {
            "status": status,
            "answer_reason": reason,
            "answered_by": actor,
            "answered_at": timezone.now(),
        }
        if not _close(dispute, values, (Status.OPEN, Status.ESCALATED)):
            raise _not_open(dispute)
        _audit(
            dispute,
            actor=actor,
            source=source,
            action="accept" if accept else "reject",
            changes={"status": [before, status], "answer_reason": [None, reason]},
        )
        if accept:
            recompute_after_commit(dispute.client_id)
        notify_after_commit(dispute, "answered")
    return dispute


def dispute_withdraw(*, dispute: Dispute, actor, source: str = AuditEvent.Source.WEB) -> Dispute:
    """The opener's side takes back a dispute still open."""
    with transaction.atomic():
        before = dispute.status
        values = {"status": Status.WITHDRAWN, "answered_at": timezone.now()}
        if not _close(dispute, values, (Status.OPEN, Status.ESCALATED)):
            raise _not_open(dispute)
        _audit(
            dispute,
            actor=actor,
            source=source,
            action="withdraw",
            changes={"status": [before, Status.WITHDRAWN]},
        )
        notify_after_commit(dispute, "withdrawn")
    return dispute


def disputes_settle_overdue(
    *,
    now=None,
    client_id: int | None = None,
    within=None,
    source: str = AuditEvent.Source.COMMAND,
) -> int:
    """Open disputes past their window follow their contract's rule: accepted (settled by the
    rule) or escalated. Daily from beat for all, and before a list of disputes is read for
    those the reader sees (`within`, a queryset of disputes). Returns how many were settled."""
    now = now or timezone.now()
    overdue = (within if within is not None else Dispute.objects.all()).filter(
        status=Status.OPEN, due_at__lt=now
    )
    overdue = overdue.select_related("contract", "contract__client", "contract__msp", "client")
    if client_id is not None:
        overdue = overdue.filter(client_id=client_id)
    settled = 0
    for dispute in overdue:
        rule = dispute.contract.dispute_unanswered
        status = Status.ESCALATED if rule == Status.ESCALATED else Status.ACCEPTED
        with transaction.atomic():
            # Escalated is not settled: it waits for the people named in the contract.
            by_rule = status == Status.ACCEPTED
            values = {"status": status, "answered_at": now, "settled_by_rule": by_rule}
            if not _close(dispute, values):
                continue
            _audit(
                dispute,
                actor=None,
                source=source,
                action="settle",
                changes={"status": [Status.OPEN, status], "settled_by_rule": [False, by_rule]},
            )
            if status == Status.ACCEPTED:
                recompute_after_commit(dispute.client_id)
            notify_after_commit(dispute, "settled")
        settled += 1
    return settled
