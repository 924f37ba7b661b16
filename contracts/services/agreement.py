"""Rules change by agreement, forward in time (issue 24).

A change to SLA targets, calendars, pause states or the matrix's ownership is a proposed version
with an effective date. It decides verdicts only once both the client's side and the MSP's side
approved it, and only for tickets created from its effective date. A proposal that would change
verdicts already given (tickets created since its date were judged under other agreed terms) is
refused unless it is marked as a correction with a reason; the correction says which results it
changes (tickets and months), and both sides approve it like any other version.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from contracts.models import Contract, ResponsibilityMatrixVersion, SlaPolicyVersion
from contracts.models.agreement import Agreed
from contracts.rules import AreaRow, matrix_gaps
from msp_portal.jobs import recompute_after_commit

from .audit import audit_record

SIDES = ("client", "msp")
SIDE_WORDS = {"client": "the client", "msp": "the MSP"}


def kind_words(version: Agreed) -> str:
    if isinstance(version, SlaPolicyVersion):
        return f"SLA version effective {version.effective_from:%d %b %Y}"
    return f"matrix version {version.number}"


# Tickets count as judged under a contract's terms when their clock used one of its SLA versions:
# a contract's versions rewrite only its own verdicts (a new contract with another MSP starts its
# own record; the client's earlier one is not "rewritten").


def _midnight(contract: Contract, day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(contract.timezone))


def _window_end(version: Agreed) -> date | None:
    """The effective date of the next version in force after this one's: where its window ends."""
    later = (
        type(version)
        .objects.filter(Agreed.in_force_q(), contract=version.contract_id)
        .filter(effective_from__gt=version.effective_from)
        .exclude(pk=version.pk)
        .order_by("effective_from")
        .values_list("effective_from", flat=True)
        .first()
    )
    return later


def _months(contract: Contract, rows: list[tuple]) -> dict:
    zone = ZoneInfo(contract.timezone)
    months = Counter(f"{created.astimezone(zone):%Y-%m}" for (created,) in rows)
    return {"tickets": len(rows), "months": dict(sorted(months.items()))}


def sla_results_changed(contract: Contract, effective_from: date, until: date | None) -> dict:
    """The tickets created in [effective_from, until) that were judged under agreed SLA terms:
    a version for that window measures them again. {"tickets": N, "months": {month: n}}."""
    end = _midnight(contract, until) if until is not None else None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.created_at FROM kpis_ticket t JOIN kpis_ticketclock c ON c.ticket_id = t.id "
            "WHERE t.client_id = %s AND t.created_at >= %s "
            "AND (%s::timestamptz IS NULL OR t.created_at < %s) "
            "AND c.policy_version_id IN "
            "(SELECT id FROM contracts_slapolicyversion WHERE contract_id = %s)",
            [contract.client_id, _midnight(contract, effective_from), end, end, contract.pk],
        )
        return _months(contract, cursor.fetchall())


def judged_tickets_exist(contract: Contract) -> bool:
    """Whether any ticket of the client was judged under this contract's agreed SLA terms."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM kpis_ticketclock c WHERE c.client_id = %s "
            "AND c.policy_version_id IN "
            "(SELECT id FROM contracts_slapolicyversion WHERE contract_id = %s))",
            [contract.client_id, contract.pk],
        )
        return cursor.fetchone()[0]


def _owned_categories(version: ResponsibilityMatrixVersion | None) -> set[str]:
    if version is None:
        return set()
    return {
        category.strip().lower()
        for area in version.assignments.filter(owner="customer")
        for category in area.categories
    }


def matrix_results_changed(
    contract: Contract, version: ResponsibilityMatrixVersion, until: date | None
) -> dict:
    """The tickets created in [effective_from, until) whose customer-owned status this version
    changes against the agreed version each was judged under: their verdicts appear or vanish."""
    proposed = _owned_categories(version)
    agreed = list(
        contract.matrix_versions.filter(Agreed.in_force_q())
        .exclude(pk=version.pk)
        .order_by("effective_from", "number")
    )
    rows: list[tuple] = []
    start = version.effective_from
    # Each agreed version rules from its date to the next one's: compare category sets there.
    edges = [(v.effective_from, _owned_categories(v)) for v in agreed]
    windows = []
    for index, (begin, owned) in enumerate(edges):
        end = edges[index + 1][0] if index + 1 < len(edges) else None
        windows.append((begin, end, owned))
    if not windows or windows[0][0] > start:
        windows.insert(0, (start, windows[0][0] if windows else None, set()))
    for begin, end, owned in windows:
        low, high = max(begin, start), end
        if until is not None:
            high = until if high is None else min(high, until)
        if high is not None and high <= low:
            continue
        differing = sorted(owned ^ proposed)
        if not differing:
            continue
        end = _midnight(contract, high) if high is not None else None
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT t.created_at FROM kpis_ticket t JOIN kpis_ticketclock c "
                "ON c.ticket_id = t.id WHERE t.client_id = %s AND t.created_at >= %s "
                "AND (%s::timestamptz IS NULL OR t.created_at < %s) "
                "AND lower(trim(t.category)) = ANY(%s) "
                "AND c.policy_version_id IN "
                "(SELECT id FROM contracts_slapolicyversion WHERE contract_id = %s)",
                [contract.client_id, _midnight(contract, low), end, end, differing, contract.pk],
            )
            rows += cursor.fetchall()
    return _months(contract, rows)


def results_changed(version: Agreed) -> dict:
    until = _window_end(version)
    if isinstance(version, SlaPolicyVersion):
        return sla_results_changed(version.contract, version.effective_from, until)
    return matrix_results_changed(version.contract, version, until)


def results_words(changed: dict) -> str:
    """'12 tickets created in 2026-03 (7) and 2026-04 (5)' for messages and pages."""
    months = changed.get("months") or {}
    listed = ", ".join(f"{month} ({count})" for month, count in months.items())
    tickets = changed.get("tickets", 0)
    return f"{tickets} ticket{'s' if tickets != 1 else ''} created in {listed}"


def check_forward(version: Agreed, changed: dict) -> None:
    """Refuse a version that would change verdicts already given, unless it is a correction
    (with its reason): nothing rewrites the figures of tickets judged under agreed terms."""
    if not changed.get("tickets"):
        return
    if version.is_correction:
        if not version.reason.strip():
            raise ValidationError("A correction needs a reason: say which error it corrects.")
        return
    raise ValidationError(
        f"This {kind_words(version)} would change the verdicts of {results_words(changed)}, "
        "already judged under the agreed terms. Give it a later effective date, or propose "
        "it as a correction with the reason."
    )


def matrix_refusals(version: ResponsibilityMatrixVersion) -> list[str]:
    """Why a matrix version cannot be approved: unassigned areas, shared areas without a split."""
    rows = [AreaRow(a.area, a.owner, a.split) for a in version.assignments.all()]
    return [gap.message for gap in matrix_gaps(rows, client_approved=True, msp_approved=True)]


def _state_recorded(
    version: Agreed, actor, source: str, action: str, before, after, more: dict | None = None
) -> None:
    """A version's change of state in the trail: `before` → `after` in words, with `more`."""
    audit_record(
        actor=actor,
        source=source,
        contract=version.contract,
        action=action,
        obj=version,
        changes={"state": [before, after]} | (more or {}),
    )


def _supersede_same_day(version: Agreed, actor, source: str) -> None:
    """An agreed correction replaces the version in force on its day (kept, marked replaced)."""
    replaced = (
        type(version)
        .objects.filter(Agreed.in_force_q(), contract=version.contract_id)
        .filter(effective_from=version.effective_from)
        .exclude(pk=version.pk)
    )
    for old in replaced:
        old.superseded_at = timezone.now()
        old.save(update_fields=["superseded_at"])
        _state_recorded(
            old,
            actor,
            source,
            "replace",
            "Agreed by both sides",
            f"Replaced by {kind_words(version)}",
        )


def version_approve(*, version: Agreed, side: str, actor, source: str) -> Agreed:
    """Record one side's approval; once both approved, the version decides verdicts from its
    effective date on and the client's figures are recomputed."""
    if side not in SIDES:
        raise ValueError(f"unknown side {side!r}")
    with transaction.atomic():
        version = type(version).objects.select_for_update().get(pk=version.pk)
        if version.withdrawn_at is not None or version.superseded_at is not None:
            raise ValidationError(f"This {kind_words(version)} is no longer open for approval.")
        if getattr(version, f"{side}_approved_at") is not None:
            return version
        if isinstance(version, ResponsibilityMatrixVersion):
            refusals = matrix_refusals(version)
            if refusals:
                raise ValidationError(
                    "This matrix cannot be approved while it has gaps: " + "; ".join(refusals)
                )
        # Tickets may have been imported since it was proposed: check again.
        changed = results_changed(version)
        check_forward(version, changed)
        other = "msp" if side == "client" else "client"
        if getattr(version, f"{other}_approved_at") is not None:
            _supersede_same_day(version, actor, source)  # first: one version in force per day
        setattr(version, f"{side}_approved_at", timezone.now())
        setattr(version, f"{side}_approved_by", actor if _is_user(actor) else None)
        fields = [f"{side}_approved_at", f"{side}_approved_by"]
        if version.is_correction:
            version.changes_results = changed
            fields.append("changes_results")
        version.save(update_fields=fields)
        audit_record(
            actor=actor,
            source=source,
            contract=version.contract,
            action=f"approve ({side})",
            obj=version,
            changes={f"approved by {SIDE_WORDS[side]}": [None, str(actor or "operator")]},
        )
        if version.is_agreed:
            _state_recorded(
                version,
                actor,
                source,
                "agreed",
                "Waiting for approval",
                "Agreed by both sides",
                {"results changed": [None, results_words(changed)]} if changed["tickets"] else {},
            )
            recompute_after_commit(version.contract.client_id)
    return version


def version_withdraw(*, version: Agreed, actor, source: str, reason: str = "") -> Agreed:
    """Withdraw a proposal (either side may, before both approved it); it stays as history."""
    if version.state != "proposed":
        raise ValidationError("Only a proposal waiting for approval can be withdrawn.")
    version.withdrawn_at = timezone.now()
    version.withdrawn_by = actor if _is_user(actor) else None
    version.save(update_fields=["withdrawn_at", "withdrawn_by"])
    _state_recorded(
        version,
        actor,
        source,
        "withdraw",
        "Waiting for approval",
        "Withdrawn" + (f": {reason}" if reason else ""),
    )
    return version


def agree_at_once(*, version: Agreed, actor, source: str) -> None:
    """The operator's contract file (the `apply_contract` command) records terms both parties
    signed: the version is agreed on both sides as it is written, and said so in the trail."""
    _supersede_same_day(version, actor, source)  # first: one version in force per day
    now = timezone.now()
    user = actor if _is_user(actor) else None
    version.client_approved_at = version.msp_approved_at = now
    version.client_approved_by = version.msp_approved_by = user
    version.save(
        update_fields=[
            "client_approved_at",
            "msp_approved_at",
            "client_approved_by",
            "msp_approved_by",
        ]
    )
    _state_recorded(
        version,
        actor,
        source,
        "agreed",
        None,
        "Agreed by both sides: the signed contract file, applied by the operator",
    )


def pending_replace(*, model, contract: Contract, actor, source: str) -> None:
    """A new proposal replaces the ones still waiting: they are withdrawn, not deleted."""
    for old in model.objects.filter(Agreed.pending_q(), contract=contract):
        version_withdraw(
            version=old, actor=actor, source=source, reason="replaced by a newer proposal"
        )


def _is_user(actor) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False)
