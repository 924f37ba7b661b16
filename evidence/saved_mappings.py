"""Saved columns for tool reports: which are offered at an upload, and where a new one is saved
(the same scoping as the ticket importer's saved mappings, kpis/imports/saved_mappings.py).

A mapping without a client is the MSP's own, offered for every client's uploads of that kind,
so only the MSP's own writers save one. Anyone else who uploads for a client (an advisor) saves
it for that client alone: it never reaches the MSP's other clients, which they may not see."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet

from contracts.models import Contract
from msp_portal.tenancy import writes_for_msp

from .models import ToolReportMapping


def usable_by(contract: Contract) -> Q:
    """The saved columns an upload for this contract may use, of any kind: its MSP's own and
    its client's own (the one scope the page, the forget action and the API all read)."""
    return Q(msp_id=contract.msp_id) & (Q(client__isnull=True) | Q(client_id=contract.client_id))


def saved_mappings_for(contract: Contract, kind: str) -> QuerySet[ToolReportMapping]:
    """The mappings an upload of this kind for this contract may use: the client's own first,
    then the contract's MSP's."""
    return ToolReportMapping.objects.filter(usable_by(contract), kind=kind).order_by(
        F("client_id").asc(nulls_last=True), "name"
    )


def saved_mapping_chosen(contract: Contract, kind: str, chosen: str) -> ToolReportMapping | None:
    """The mapping named by its id, if it is one this contract's upload may use (any other id,
    another MSP's or another client's, is as if none was chosen)."""
    if not (chosen.isascii() and chosen.isdigit()):  # "²" is a digit to isdigit, not to int
        return None
    return saved_mappings_for(contract, kind).filter(pk=int(chosen)).first()


def saved_mapping_save(
    contract: Contract, kind: str, *, name: str, preset: str, mapping: dict[str, str], user
) -> ToolReportMapping:
    """Remember the upload's layout and columns under `name` (the same name again replaces
    them): MSP-wide when the user writes for the contract's MSP, else for its client only."""
    msp_wide = writes_for_msp(user, contract.msp_id)
    key = {
        "msp_id": contract.msp_id,
        "client_id": None if msp_wide else contract.client_id,
        "kind": kind,
        "name": name,
    }
    values = {"preset": preset, "mapping": mapping, "updated_by": user}
    try:
        with transaction.atomic():  # its own savepoint: the upload it goes with stays
            saved, _ = ToolReportMapping.objects.update_or_create(**key, defaults=values)
    except IntegrityError:
        # The same name saved at the same moment by another upload: now it exists, update it.
        saved, _ = ToolReportMapping.objects.update_or_create(**key, defaults=values)
    return saved


def saved_mapping_scope_words(contract: Contract, user) -> str:
    """Where columns saved by this user go, in words, for the upload form."""
    if writes_for_msp(user, contract.msp_id):
        return f"for every client of {contract.msp.name}"
    return f"for {contract.client.name} only"


def saved_mapping_may_forget(mapping: ToolReportMapping, user) -> bool:
    """Who may forget saved columns is who may save them there: the MSP's own (for all its
    clients) only its writers; a client's own, whoever uploads for that client."""
    return mapping.client_id is not None or writes_for_msp(user, mapping.msp_id)


def saved_mapping_by_id(contract: Contract, chosen: int) -> ToolReportMapping | None:
    """Saved columns of any kind that this contract's uploads may use, by id (None for any
    other id: another MSP's or another client's are as if they did not exist)."""
    return ToolReportMapping.objects.filter(usable_by(contract), pk=chosen).first()
