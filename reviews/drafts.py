"""Beat's quarterly job: a draft review for every active contract once its quarter has ended,
and an email to the advisor (or, without one, the MSP) that it is ready to be written."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from contracts.models import Contract, Membership
from contracts.selectors import current_contract
from contracts.services.commitments import contract_today
from kpis.models import KpiSnapshot

from .context import quarter_period
from .services import quarter_ended_before, review_draft_ensure

log = logging.getLogger(__name__)


def review_recipients(contract: Contract) -> list[str]:
    """Who writes the review: the advisory firm's writers, else the MSP's."""
    org = contract.advisor or contract.msp
    return sorted(
        Membership.objects.filter(
            organisation=org, role__in=[Membership.Role.ADMIN, Membership.Role.MEMBER]
        ).values_list("user__email", flat=True)
    )


def reviews_draft_due(today: date | None = None) -> int:
    """Create the drafts that are due (as of `today`, default each contract's own today);
    returns how many were created."""
    created = 0
    contracts = Contract.objects.select_related("client", "msp", "advisor")
    for contract in contracts:
        quarter = quarter_ended_before(today or contract_today(contract))
        period = quarter_period(quarter, contract.timezone)
        last_day = period.next_first_day - timedelta(days=1)
        if contract.starts > last_day or (contract.ends and contract.ends < period.first_day):
            continue  # the contract did not run in that quarter
        if contract.pk != current_contract(client=contract.client).pk:
            continue  # figures are shown under the client's newest contract only
        if not KpiSnapshot.objects.filter(client=contract.client, period_label=quarter).exists():
            continue  # no figures yet: tomorrow's run tries again
        review, made = review_draft_ensure(contract=contract, quarter=quarter, source="command")
        if made:
            created += 1
            _notify(contract, review)
    return created


def _notify(contract: Contract, review) -> None:
    recipients = review_recipients(contract)
    if not recipients:
        log.warning(
            "No one to tell that the %s review of %s is ready", review.quarter, contract.client
        )
        return
    url = settings.PORTAL_URL + reverse("review_detail", args=[contract.client.slug, review.pk])
    send_mail(
        subject=f"{contract.client.name}: the {review.quarter} review is ready to prepare",
        message=(
            f"The quarter {review.quarter} has ended and a draft review of {contract.msp.name} "
            f"for {contract.client.name} is ready, with the quarter's figures.\n\n"
            f"Add your commentary and action items, then publish it:\n{url}\n"
        ),
        from_email=None,
        recipient_list=recipients,
    )
