"""The setup pages' writes: a contract file rebuilt with the page's sections, then applied.

Every rule a page changes (terms, calendars, SLA, matrix, commitments) reaches the database
through `contract_apply(..., source="web")`, as a file upload or the API would: no page creates
an SLA or matrix version any other way.
"""

from __future__ import annotations

from django.utils.text import slugify

from contracts.contract_export import contract_document, contract_file_from
from contracts.models import Contract, Organisation

from .contract_apply import ApplyResult, contract_apply


def contract_setup_save(
    *, contract: Contract, sections: dict, actor, reason: str = "", correction: str = ""
) -> ApplyResult:
    """Apply the contract's current file with `sections` (top-level keys of the file, or
    "client_name"/"seats" for the client's) replaced; a changed SLA or matrix is a proposal
    with its `reason`, or a `correction`. Raises ContractFileError."""
    document = contract_document(contract=contract)
    document.update(_placed(document, sections))
    return contract_apply(
        data=contract_file_from(document),
        actor=actor,
        source="web",
        reason=reason,
        correction=correction,
        matrix_correction=correction,
    )


def _placed(document: dict, sections: dict) -> dict:
    """The client's name and seats live in the file's client block; the rest are sections."""
    sections = dict(sections)
    client = dict(document["client"])
    if "client_name" in sections:
        client["name"] = sections.pop("client_name")
    if "seats" in sections:
        client["seats"] = sections.pop("seats")
    return {**sections, "client": client}


def client_slug_new(name: str) -> str:
    """A slug for a new client from its name, numbered when taken (or when it is "new", the
    new-client page's own address)."""
    base = slugify(name)[:70].strip("-") or "client"
    slug, n = base, 1
    while slug == "new" or Organisation.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def client_contract_create(
    *,
    msp: Organisation,
    advisor: Organisation | None,
    sections: dict,
    actor,
) -> ApplyResult:
    """A new client organisation and its contract, calendars and SLA, as one file applied.

    The SLA starts with the contract. Raises ContractFileError."""
    document = {
        "client": {"slug": client_slug_new(sections["client_name"]), "name": ""},
        "msp": {"slug": msp.slug, "name": msp.name},
    }
    if advisor is not None:
        document["advisor"] = {"slug": advisor.slug, "name": advisor.name}
    document.update(_placed(document, sections))
    document["sla"] = {**document["sla"], "effective_from": document["contract"]["starts"]}
    return contract_apply(data=contract_file_from(document), actor=actor, source="web")
