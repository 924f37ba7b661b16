"""Disputes read: only those of contracts the caller is party to (a client's second MSP never
sees the first one's), scoped once here for the pages and the API."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from contracts.models import Membership
from msp_portal.tenancy import (
    Access,
    Action,
    contract_access,
    party_contracts,
    visible_contracts,
)

from .models import Dispute

Status = Dispute.Status
# The list's tabs: waiting for the MSP's answer; answered by a person; past the window
# unanswered (settled by the contract's rule, or escalated by it).
TABS = {
    "open": Q(status=Status.OPEN),
    "answered": Q(status__in=[Status.ACCEPTED, Status.REJECTED, Status.WITHDRAWN])
    & Q(settled_by_rule=False),
    "overdue": Q(settled_by_rule=True) | Q(status=Status.ESCALATED),
}
TAB_WORDS = {"open": "Open", "answered": "Answered", "overdue": "Overdue", "all": "All"}


def visible_disputes(user) -> QuerySet[Dispute]:
    """Disputes of the contracts the user is party to."""
    return Dispute.objects.filter(contract__in=visible_contracts(user).values("pk"))


def client_disputes(user, client, tab: str = "all") -> QuerySet[Dispute]:
    """The client's disputes the user may see, in one tab of the list, newest first."""
    found = visible_disputes(user).filter(client=client)
    if tab in TABS:
        found = found.filter(TABS[tab])
    return found.select_related("opened_by", "answered_by", "ticket", "occurrence__commitment")


def get_dispute_or_404(user, client, pk) -> tuple[Dispute, Access]:
    """A dispute of this client the user may see, with their roles on its contract."""
    dispute = (
        visible_disputes(user)
        .filter(client=client, pk=pk)
        .select_related("contract", "contract__client", "contract__msp", "contract__advisor")
        .select_related("client", "opened_by", "answered_by", "ticket", "occurrence__commitment")
        .first()
    )
    if dispute is None:
        raise Http404("No such dispute.")
    return dispute, contract_access(user, dispute.contract)


# Still to be settled: open, or escalated to the people the contract names (who settle it by
# answering it in the portal).
UNSETTLED = (Status.OPEN, Status.ESCALATED)


def may_withdraw(user, access: Access, dispute: Dispute) -> bool:
    """The side that opened it, while it is open or escalated: a person of the opener's
    organisation in this contract whose role there may open disputes."""
    if dispute.status not in UNSETTLED or dispute.opened_by_id is None:
        return False
    contract = dispute.contract
    opener_orgs = set(
        Membership.objects.filter(user_id=dispute.opened_by_id).values_list(
            "organisation_id", flat=True
        )
    )
    sides = {"client": contract.client_id, "advisor": contract.advisor_id}
    shared = {s: r for s, r in access.roles.items() if sides.get(s) in opener_orgs}
    return Access(shared).can(Action.OPEN_DISPUTE)


def is_overdue(dispute: Dispute, now=None) -> bool:
    return dispute.status == Status.OPEN and dispute.due_at < (now or timezone.now())


def ticket_disputes(user, access: Access, ticket, zone) -> dict:
    """What the ticket page shows of disputes: this ticket's, in words, and whether the user
    may open one."""
    from .subjects import contest_words

    found = visible_disputes(user).filter(ticket=ticket).select_related("contract")
    return {
        "disputes": [{"dispute": d, "contest": contest_words(d, zone)} for d in found],
        "can_dispute": access.can(Action.OPEN_DISPUTE),
    }


def ticket_contract(user, client, ticket):
    """The contract a dispute about this ticket falls under: the one with the MSP whose export
    brought the ticket, among the user's contracts with the client (a ticket without an import
    of its own: their newest). A ticket another MSP's export brought is not the user's to
    dispute under their contract: that MSP would be asked to answer for it (404)."""
    contracts = party_contracts(user, client).select_related("client", "msp", "advisor")
    contracts = contracts.order_by("-starts", "-id")
    msp_id = ticket.import_job.msp_id if ticket.import_job_id else None
    found = contracts.filter(msp_id=msp_id).first() if msp_id else contracts.first()
    if found is None:
        raise Http404("No contract of yours covers this ticket.")
    return found
