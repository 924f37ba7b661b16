"""The mapping an import without a mapping step runs with (the API, the command, its dry run),
from a file's header: what the caller gave, filled in from the preset and the client's contract
(docs/mapping-file.md)."""

from __future__ import annotations

import polars as pl

from contracts.models import Contract, Organisation
from kpis.imports.ingest.event_log_guess import EventLogEvidence, event_log_evidence
from kpis.imports.ingest.mapping import Mapping, MappingError, mapping_for_preset, mapping_from_json
from kpis.imports.ingest.presets import PRESETS, Preset, preset_guess


def client_zone(msp: Organisation, client: Organisation) -> str:
    contract = (
        Contract.objects.filter(msp=msp, client=client).order_by("-starts").only("timezone").first()
    )
    return contract.timezone if contract else "UTC"


def pause_states(msp: Organisation, client: Organisation) -> list[str]:
    contract = Contract.objects.filter(msp=msp, client=client).order_by("-starts").first()
    if contract is None:
        return []
    policy = contract.sla_versions.order_by("-effective_from").first()
    return list(policy.pause_states) if policy else []


def guessed_mapping(
    preset: Preset, header: list[str], sample: pl.DataFrame | None, zone: str
) -> tuple[Mapping, EventLogEvidence | None]:
    """The preset's mapping for this header; read as an event log (a row per update) when the
    preset reads one-row exports but the rows repeat ticket ids with changing update times."""
    mapping = mapping_for_preset(preset, header, timezone=zone)
    if sample is None or preset.shape == "event":
        return mapping, None
    as_log = mapping_for_preset(preset, header, timezone=zone, event_log=True)
    evidence = event_log_evidence(
        sample, as_log.columns.get("external_id"), as_log.columns.get("updated_at")
    )
    return (as_log, evidence) if evidence else (mapping, None)


def mapping_for_header(
    header: list[str],
    *,
    msp: Organisation,
    client: Organisation | None,
    preset: str | None = None,
    mapping_json: dict | None = None,
    timezone_name: str | None = None,
    date_order: str | None = None,
    sample: pl.DataFrame | None = None,
    companies: dict[str, str | None] | None = None,
) -> Mapping:
    """What `services.mapping_prepare` gives, for a header already read (the dry run has no job).
    `sample`: rows of the file, to recognise an event log when no mapping says what it is;
    `companies` routes companies to client slugs (None: skip) over the mapping's own."""
    if mapping_json is None:
        chosen = PRESETS[preset] if preset else preset_guess(header)
        zone = client_zone(msp, client) if client else "UTC"
        mapping_json = guessed_mapping(chosen, header, sample, zone)[0].to_json()
    elif not isinstance(mapping_json, dict):
        raise MappingError("mapping: must be a JSON object")
    else:
        mapping_json = dict(mapping_json)
        mapping_json.setdefault("preset", preset or preset_guess(header).name)
    named = mapping_json.get("preset")
    chosen_preset = PRESETS.get(named) if isinstance(named, str) else None
    if not mapping_json.get("timezone") and not (chosen_preset and chosen_preset.timezone):
        # No zone in the file nor the preset: the client's (docs/mapping-file.md, `timezone`).
        mapping_json["timezone"] = client_zone(msp, client) if client else "UTC"
    if timezone_name:
        mapping_json["timezone"] = timezone_name
    if date_order:
        mapping_json["date_order"] = date_order
    if not mapping_json.get("pause_states") and client is not None:
        mapping_json["pause_states"] = pause_states(msp, client)
    if companies:
        mapping_json["clients"] = {**(mapping_json.get("clients") or {}), **companies}
    return mapping_from_json(mapping_json, header)
