"""Emails about a dispute to the other side: the MSP's people when the client side opens one,
the opener's side when it is answered or settled by the contract's rule. A mail server that
refuses is logged, never a lost dispute: the dispute is on its page either way."""

from __future__ import annotations

import logging
import smtplib
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import BadHeaderError, send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from contracts.models import Membership
from msp_portal.tenancy import WRITE_ROLES

from .models import Dispute
from .subjects import contest_words

log = logging.getLogger(__name__)


def writers_of(organisation_ids) -> list[str]:
    """The email addresses of the people holding a write role in these organisations."""
    emails = Membership.objects.filter(
        organisation_id__in=[i for i in organisation_ids if i], role__in=WRITE_ROLES
    ).values_list("user__email", flat=True)
    return sorted({e for e in emails if e})


def opener_side_ids(dispute: Dispute) -> list[int]:
    """The organisations of the contract the opener belongs to (the client, its advisory firm)."""
    contract = dispute.contract
    mine = set(
        Membership.objects.filter(user_id=dispute.opened_by_id).values_list(
            "organisation_id", flat=True
        )
    )
    found = [o for o in (contract.client_id, contract.advisor_id) if o in mine]
    return found or [contract.client_id]


def dispute_url(dispute: Dispute) -> str:
    # PORTAL_URL, never the request's Host header (as invitations do).
    return settings.PORTAL_URL + reverse("dispute_detail", args=[dispute.client.slug, dispute.pk])


def _send(dispute: Dispute, event: str, recipients: list[str]) -> None:
    if not recipients:
        return
    contract = dispute.contract
    context = {
        "dispute": dispute,
        "event": event,
        "contest": contest_words(dispute, ZoneInfo(contract.timezone)),
        "contract": contract,
        "url": dispute_url(dispute),
    }
    subject = {
        "opened": f"{contract.client.name} disputes {dispute.ticket_label or 'a commitment'}",
        "answered": f"Your dispute was {dispute.get_status_display().lower()}: "
        f"{dispute.ticket_label or 'a commitment'}",
        "settled": f"A dispute past its window was {dispute.get_status_display().lower()}: "
        f"{dispute.ticket_label or 'a commitment'}",
        "withdrawn": f"{contract.client.name} withdrew its dispute: "
        f"{dispute.ticket_label or 'a commitment'}",
    }[event]
    subject = " ".join(subject.split())[:200]  # a title's line breaks would break the header
    body = render_to_string("disputes/email/dispute.txt", context)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    except (smtplib.SMTPException, OSError, BadHeaderError):
        log.exception("dispute %s email (%s) not sent", dispute.pk, event)


def notify_after_commit(dispute: Dispute, event: str) -> None:
    """Mail the other side once the change is committed: opened → the MSP's writers;
    answered → the opener's side; settled by the rule → both."""
    contract = dispute.contract
    if event in ("opened", "withdrawn"):
        ids = [contract.msp_id]
    elif event == "answered":
        ids = opener_side_ids(dispute)
    else:
        ids = [contract.msp_id, *opener_side_ids(dispute)]
    transaction.on_commit(lambda: _send(dispute, event, writers_of(ids)))
