"""The dispute pages: a client's list (open, answered, overdue), one dispute with its answer
form and history, and the "Dispute this" forms of a ticket and of a commitment occurrence.

Access first, then one thing: an outsider gets 404, a read-only member 403 on writes. Overdue
disputes are settled by the contract's rule as the pages are read (beat does it daily too)."""

from __future__ import annotations

from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from contracts.models import AuditEvent, CommitmentOccurrence
from kpis.models import Ticket
from msp_portal.tenancy import (
    Action,
    contract_access,
    get_client_contract_or_404,
    get_client_or_404,
    get_client_with_contract_or_404,
)

from .effect import dispute_effect
from .models import Dispute
from .selectors import (
    TAB_WORDS,
    UNSETTLED,
    client_disputes,
    get_dispute_or_404,
    is_overdue,
    may_withdraw,
    ticket_contract,
    visible_disputes,
)
from .services import dispute_answer, dispute_open, dispute_withdraw, disputes_settle_overdue
from .subjects import Subject, contest_words, measured_fact, requested_from, ticket_choices


def _rows(disputes, zone: ZoneInfo) -> list[dict]:
    return [
        {"dispute": d, "contest": contest_words(d, zone), "overdue": is_overdue(d)}
        for d in disputes
    ]


@login_required
def dispute_list(request, slug):
    """The client's disputes, by tab: open, answered, overdue, all."""
    client, _access, contract = get_client_with_contract_or_404(request.user, slug)
    disputes_settle_overdue(
        client_id=client.pk, within=visible_disputes(request.user), source=AuditEvent.Source.WEB
    )
    tab = request.GET.get("show", "open")
    if tab not in TAB_WORDS:
        tab = "open"
    counts = {name: client_disputes(request.user, client, name).count() for name in TAB_WORDS}
    page = Paginator(client_disputes(request.user, client, tab), 25).get_page(
        request.GET.get("page")
    )
    zone = ZoneInfo(contract.timezone if contract else "UTC")
    return render(
        request,
        "disputes/dispute_list.html",
        {
            "client": client,
            "contract": contract,
            "tab": tab,
            "tabs": [(name, words, counts[name]) for name, words in TAB_WORDS.items()],
            "page": page,
            "rows": _rows(page.object_list, zone),
            "zone": zone,
        },
    )


def _history(dispute: Dispute) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            object_model="disputes.dispute", object_id=str(dispute.pk)
        ).select_related("actor")
    )[::-1]


@login_required
def dispute_detail(request, slug, pk):
    """One dispute: the contest in words, the answer form for the MSP side, withdrawal for the
    opener's side, and every step so far."""
    client, _ = get_client_or_404(request.user, slug)
    disputes_settle_overdue(
        client_id=client.pk, within=visible_disputes(request.user), source=AuditEvent.Source.WEB
    )
    dispute, access = get_dispute_or_404(request.user, client, pk)
    zone = ZoneInfo(dispute.contract.timezone)
    return render(
        request,
        "disputes/dispute_detail.html",
        {
            "client": client,
            "contract": dispute.contract,
            "dispute": dispute,
            "contest": contest_words(dispute, zone),
            "overdue": is_overdue(dispute),
            "can_answer": dispute.status in UNSETTLED and access.can(Action.ANSWER_DISPUTE),
            "can_withdraw": may_withdraw(request.user, access, dispute),
            "history": _history(dispute),
            "effects": dispute_effect(dispute),
            "zone": zone,
        },
    )


@login_required
@require_POST
def dispute_answer_view(request, slug, pk):
    client, _ = get_client_or_404(request.user, slug)
    dispute, access = get_dispute_or_404(request.user, client, pk)
    access.require(Action.ANSWER_DISPUTE)
    decision = request.POST.get("decision")
    try:
        if decision not in ("accept", "reject"):
            raise ValidationError({"decision": "choose to accept or to reject the dispute"})
        dispute_answer(
            dispute=dispute,
            actor=request.user,
            accept=decision == "accept",
            reason=request.POST.get("answer_reason", ""),
        )
    except ValidationError as error:
        for field_messages in error.message_dict.values():
            for message in field_messages:
                messages.error(request, f"Not answered: {message}.")
    else:
        messages.success(
            request,
            f"Dispute {dispute.get_status_display().lower()}."
            + (" The agreed figures are being recomputed." if decision == "accept" else ""),
        )
    return redirect("dispute_detail", client.slug, dispute.pk)


@login_required
@require_POST
def dispute_withdraw_view(request, slug, pk):
    client, _ = get_client_or_404(request.user, slug)
    dispute, access = get_dispute_or_404(request.user, client, pk)
    if not may_withdraw(request.user, access, dispute):
        access.require(Action.OPEN_DISPUTE)  # 403 for a role that may not dispute at all
        messages.error(request, "Only the side that opened an open dispute can withdraw it.")
        return redirect("dispute_detail", client.slug, dispute.pk)
    try:
        dispute_withdraw(dispute=dispute, actor=request.user)
    except ValidationError as error:
        messages.error(request, f"Not withdrawn: {'; '.join(error.messages)}.")
    else:
        messages.success(request, "Dispute withdrawn.")
    return redirect("dispute_detail", client.slug, dispute.pk)


# --- "Dispute this" ---------------------------------------------------------------------------


def _dispute_form(request, *, client, contract, ticket=None, occurrence=None):
    """The form for one contest (GET: what is contested and what is asked; POST: open it)."""
    access = contract_access(request.user, contract)
    access.require(Action.OPEN_DISPUTE)
    zone = ZoneInfo(contract.timezone)
    params = request.GET.copy()
    if request.method == "POST":
        params.update(request.POST)
    subject = Subject.OCCURRENCE if occurrence is not None else params.get("subject", "")
    if subject not in Subject.values:
        # No contest chosen yet: what on the ticket can be disputed.
        choices = [(words, f"?{urlencode(query)}") for words, query in ticket_choices(ticket, zone)]
        return render(
            request,
            "disputes/dispute_choose.html",
            {"client": client, "contract": contract, "ticket": ticket, "choices": choices},
        )
    today = contract.today()
    requested = requested_from(subject, params, ticket=ticket, occurrence=occurrence, today=today)
    errors: list[str] = []
    if request.method == "POST":
        try:
            dispute = dispute_open(
                contract=contract,
                actor=request.user,
                subject=subject,
                requested=requested,
                reason=params.get("reason", ""),
                ticket=ticket,
                occurrence=occurrence,
            )
        except ValidationError as error:
            errors = error.messages
        else:
            messages.success(
                request,
                f"Dispute opened. {contract.msp.name} has until "
                f"{dispute.due_at.astimezone(zone):%-d %b %Y} to answer.",
            )
            return redirect("dispute_detail", client.slug, dispute.pk)
    measured, not_disputable = {}, ""
    try:
        measured = measured_fact(
            subject, requested, ticket=ticket, occurrence=occurrence, today=today
        )
    except ValidationError as error:
        if subject == Subject.PRIORITY and ticket is not None and not requested["priority"]:
            measured = {"priority": ticket.priority}  # the form asks for one
        else:
            not_disputable = "; ".join(error.messages)
    draft = Dispute(subject=subject, requested=requested, measured=measured)
    return render(
        request,
        "disputes/dispute_new.html",
        {
            "client": client,
            "contract": contract,
            "ticket": ticket,
            "occurrence": occurrence,
            "subject": subject,
            "params": params,
            "requested": requested,
            "contest": contest_words(draft, zone),
            "not_disputable": not_disputable,
            "errors": errors,
            "priorities": [p for p in ("P1", "P2", "P3", "P4") if p != measured.get("priority")],
        },
        status=400 if errors else 200,
    )


@login_required
def dispute_ticket(request, slug, pk):
    """Dispute something measured on one ticket."""
    client, _ = get_client_or_404(request.user, slug)
    ticket = get_object_or_404(
        Ticket.objects.select_related("clock", "import_job"), pk=pk, client=client
    )
    contract = ticket_contract(request.user, client, ticket)
    return _dispute_form(request, client=client, contract=contract, ticket=ticket)


@login_required
def dispute_occurrence(request, slug, pk, occurrence):
    """Dispute whether a commitment occurrence was kept."""
    client, contract, _access = get_client_contract_or_404(request.user, slug, pk)
    occ = get_object_or_404(
        CommitmentOccurrence.objects.select_related("commitment__contract"),
        pk=occurrence,
        commitment__contract=contract,
    )
    return _dispute_form(request, client=client, contract=contract, occurrence=occ)
