"""Outage windows entered by hand: recorded, audited, and the client's uptime recomputed."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from contracts.models import Contract
from contracts.services.audit import audit_record
from kpis.models import Outage
from msp_portal.jobs import recompute_after_commit


def _recompute_later(contract: Contract) -> None:
    recompute_after_commit(contract.client_id)


def outage_add(
    *,
    contract: Contract,
    actor,
    service: str,
    started_at: datetime,
    ended_at: datetime | None,
    planned: bool,
    note: str = "",
    source: str = "web",
) -> Outage:
    """Record a window in which `service` was down (ended_at None: still down)."""
    service = service.strip()
    if not service:
        raise ValidationError({"service": "name the service that was down"})
    if ended_at is not None and ended_at <= started_at:
        raise ValidationError({"ended_at": "the outage must end after it starts"})
    with transaction.atomic():
        try:
            with transaction.atomic():
                outage = Outage.objects.create(
                    client=contract.client,
                    service=service[:200],
                    started_at=started_at,
                    ended_at=ended_at,
                    planned=planned,
                    note=note[:300],
                )
        except IntegrityError:
            raise ValidationError(
                {"started_at": f"an outage of {service} starting then is already recorded"}
            ) from None
        audit_record(
            actor=actor,
            source=source,
            contract=contract,
            action="create",
            obj=outage,
            changes={
                "outage": [
                    None,
                    [service, started_at.isoformat(), ended_at and ended_at.isoformat(), planned],
                ]
            },
        )
        _recompute_later(contract)
    return outage


def outage_delete(*, contract: Contract, actor, outage: Outage, source: str = "web") -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            source=source,
            contract=contract,
            action="delete",
            obj=outage,
            changes={
                "outage": [
                    [
                        outage.service,
                        outage.started_at.isoformat(),
                        outage.ended_at and outage.ended_at.isoformat(),
                        outage.planned,
                    ],
                    None,
                ]
            },
        )
        outage.delete()
        _recompute_later(contract)
