"""Which saved mapping pre-fills an import, and where a confirmed mapping is saved.

An MSP-wide mapping pre-fills every import of the MSP, for all its clients, so only the MSP's
own writers save one. Anyone else who imports for a client (an advisor) saves it for that
client alone: it never reaches the MSP's other clients, which they may not see."""

from __future__ import annotations

from django.db.models import F, Q

from kpis.models import ImportJob, SavedMapping
from msp_portal.tenancy import writes_for_msp


def saved_mapping_for(job: ImportJob, preset: str) -> SavedMapping | None:
    """The saved mapping for this layout: the job's client's own first, then the MSP's."""
    scope = Q(client__isnull=True)
    if job.client_id:
        scope |= Q(client_id=job.client_id)
    candidates = SavedMapping.objects.filter(scope, msp=job.msp, preset=preset)
    return candidates.order_by(F("client_id").asc(nulls_last=True), "name").first()


def saved_mapping_save(job: ImportJob, *, name: str, mapping, user) -> SavedMapping | None:
    """Remember a confirmed mapping under `name`: MSP-wide when the user writes for the MSP,
    else for the job's client only (nothing is saved for a several-client import then)."""
    msp_writer = writes_for_msp(user, job.msp_id)
    if not msp_writer and job.client_id is None:
        return None
    saved, _ = SavedMapping.objects.update_or_create(
        msp=job.msp,
        client=None if msp_writer else job.client,
        name=name,
        defaults={"preset": mapping.preset, "mapping": job.mapping, "updated_by": user},
    )
    return saved
