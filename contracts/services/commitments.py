"""Commitment occurrences: generate the due periods, record fulfilment, store evidence files."""

from __future__ import annotations

import codecs
import hashlib
from datetime import date
from pathlib import PurePath
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from contracts.models import Commitment, CommitmentOccurrence, Contract, Evidence
from contracts.rules import commitment_periods
from msp_portal.jobs import recompute_after_commit

from .audit import audit_record


def contract_today(contract: Contract) -> date:
    """Today's date where the contract is performed (its time zone), not the server's."""
    return timezone.now().astimezone(ZoneInfo(contract.timezone)).date()


def commitment_occurrences_ensure(*, commitment: Commitment, until: date | None = None) -> int:
    """Create the occurrences due up to the period containing `until`; returns how many."""
    contract = commitment.contract
    until = until or contract_today(contract)
    periods = commitment_periods(commitment.cadence, contract.starts, contract.ends, until)
    existing = set(commitment.occurrences.values_list("period_start", flat=True))
    new = [
        CommitmentOccurrence(commitment=commitment, period_start=start, due_date=due)
        for start, due in periods
        if start not in existing
    ]
    CommitmentOccurrence.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def occurrence_complete(
    *, occurrence: CommitmentOccurrence, actor, source: str, completed_on: date, note: str = ""
) -> CommitmentOccurrence:
    """Record that an occurrence was fulfilled on a date, with a note saying what was done or
    evidence uploaded for it: the other side confirms what it can read."""
    if completed_on > contract_today(occurrence.commitment.contract):
        raise ValidationError({"completed_on": "cannot be in the future"})
    if not note.strip() and not occurrence.evidence.exists():
        raise ValidationError(
            {"note": "Say what was done in a note, or upload the evidence first."}
        )
    before = {
        "completed_on": occurrence.completed_on and occurrence.completed_on.isoformat(),
        "note": occurrence.note,
    }
    occurrence.completed_on = completed_on
    occurrence.completed_by = actor
    occurrence.note = note
    occurrence.recorded_at = timezone.now()
    # A new record is a new claim: an earlier answer was about the old one.
    occurrence.answer, occurrence.answered_at, occurrence.answered_by = "", None, None
    occurrence.answer_note = ""
    occurrence.save(
        update_fields=[
            "completed_on",
            "completed_by",
            "note",
            "recorded_at",
            "answer",
            "answered_at",
            "answered_by",
            "answer_note",
        ]
    )
    audit_record(
        actor=actor,
        source=source,
        contract=occurrence.commitment.contract,
        action="complete",
        obj=occurrence,
        changes={
            k: [v, after]
            for (k, v), after in zip(before.items(), [completed_on.isoformat(), note], strict=True)
            if v != after
        },
    )
    # "Commitments kept" on the scorecard reads the occurrences: recompute it now, not tonight.
    recompute_after_commit(occurrence.commitment.contract.client_id)
    return occurrence


def occurrence_answer(
    *, occurrence: CommitmentOccurrence, actor, source: str, answer: str, note: str = ""
) -> CommitmentOccurrence:
    """The other side confirms or disputes an occurrence recorded as done; a dispute says why."""
    answers = dict(CommitmentOccurrence.Answer.choices)
    if answer not in answers:
        raise ValidationError("Choose Confirm or Dispute.")
    if occurrence.completed_on is None:
        raise ValidationError("It is not recorded as done yet: there is nothing to confirm.")
    note = note.strip()
    if answer == CommitmentOccurrence.Answer.DISPUTED and not note:
        raise ValidationError("A dispute needs a note: say what is wrong, so it can be put right.")
    before = {"answer": occurrence.answer, "answer_note": occurrence.answer_note}
    occurrence.answer = answer
    occurrence.answered_at = timezone.now()
    occurrence.answered_by = actor
    occurrence.answer_note = note
    occurrence.save(update_fields=["answer", "answered_at", "answered_by", "answer_note"])
    audit_record(
        actor=actor,
        source=source,
        contract=occurrence.commitment.contract,
        action="confirm" if answer == CommitmentOccurrence.Answer.CONFIRMED else "dispute",
        obj=occurrence,
        changes={
            k: [v, after]
            for (k, v), after in zip(before.items(), [answer, note], strict=True)
            if v != after
        },
    )
    recompute_after_commit(occurrence.commitment.contract.client_id)
    return occurrence


# Evidence: what an auditor would accept, recognised by content and not only by name.
_SIGNATURES = {
    ".pdf": [b"%PDF-"],
    ".png": [b"\x89PNG\r\n\x1a\n"],
    ".jpg": [b"\xff\xd8\xff"],
    ".jpeg": [b"\xff\xd8\xff"],
    ".docx": [b"PK\x03\x04"],
    ".xlsx": [b"PK\x03\x04"],
    ".pptx": [b"PK\x03\x04"],
    ".zip": [b"PK\x03\x04"],
    ".txt": None,  # text: must decode as UTF-8 and hold no NUL byte
    ".csv": None,
    ".log": None,
}
_CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".zip": "application/zip",
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".log": "text/plain",
}


def evidence_check(name: str, head: bytes, size: int, *, text_checked: bool = True) -> str:
    """The content type to store for an upload, or ValidationError saying what is wrong.
    `text_checked=False`: a text file's encoding is left to its reader (a tool report's CSV
    may be Windows-1252 or UTF-16, which the ticket importer's reader decodes)."""
    suffix = PurePath(name).suffix.lower()
    if suffix not in _SIGNATURES:
        allowed = ", ".join(sorted(_SIGNATURES))
        raise ValidationError(
            f"{name}: files of type '{suffix or 'none'}' are not accepted "
            f"as evidence (accepted: {allowed})"
        )
    if size == 0:
        raise ValidationError(f"{name}: the file is empty")
    if size > settings.EVIDENCE_MAX_BYTES:
        raise ValidationError(
            f"{name}: {size:,} bytes is over the limit of {settings.EVIDENCE_MAX_BYTES:,} bytes"
        )
    signatures = _SIGNATURES[suffix]
    if signatures is None and not text_checked:
        pass
    elif signatures is None:
        try:
            if b"\x00" in head:
                raise ValueError
            # Incremental: the 4 KiB head may end inside a multi-byte character.
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        except (ValueError, UnicodeDecodeError):
            raise ValidationError(f"{name}: the content is not UTF-8 text") from None
    elif not any(head.startswith(sig) for sig in signatures):
        raise ValidationError(f"{name}: the content is not a {suffix[1:].upper()} file")
    return _CONTENT_TYPES[suffix]


def upload_checked(upload, *, text_checked: bool = True) -> tuple[str, str]:
    """The content type and SHA-256 of an uploaded evidence-like file (commitment evidence, the
    MSP's reports), after checking its type, size and content (ValidationError otherwise)."""
    head = upload.read(4096)
    upload.seek(0)
    content_type = evidence_check(upload.name, head, upload.size, text_checked=text_checked)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return content_type, digest.hexdigest()


def evidence_add(*, occurrence: CommitmentOccurrence, upload, actor, source: str) -> Evidence:
    """Store an uploaded evidence file for an occurrence, after checking its size and content."""
    content_type, sha256 = upload_checked(upload)
    with transaction.atomic():
        evidence = Evidence(
            occurrence=occurrence,
            original_name=PurePath(upload.name).name[:255],
            content_type=content_type,
            size=upload.size,
            sha256=sha256,
            uploaded_by=actor,
        )
        evidence.file.save(evidence.original_name, upload, save=False)
        evidence.save()
        audit_record(
            actor=actor,
            source=source,
            contract=occurrence.commitment.contract,
            action="upload",
            obj=evidence,
            changes={"evidence": [None, evidence.original_name]},
        )
        # Evidence can make a recorded occurrence count as kept (where the commitment requires
        # it): the client's figures are recomputed now, as for a record or an answer.
        recompute_after_commit(occurrence.commitment.contract.client_id)
    return evidence


def commitments_refresh_all() -> int:
    """Open the current period's occurrence for every active commitment of a running contract."""
    created = 0
    commitments = Commitment.objects.filter(is_active=True).select_related("contract")
    for commitment in commitments:
        created += commitment_occurrences_ensure(
            commitment=commitment, until=contract_today(commitment.contract)
        )
    # A new period of a commitment measured from tool reports is measured as it opens.
    from evidence.measures import measures_refresh  # evidence builds on this module

    for client_id in {c.contract.client_id for c in commitments if c.measured_by}:
        measures_refresh(client_id=client_id)
    return created
