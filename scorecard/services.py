"""Writes of the provider scorecard: the assessment with its incumbent, the weights, the
candidates and their answers with evidence files. Each is audited.

The audit events name no client or contract: the contract's history is read by the incumbent
MSP, and a rival's answers (even that a rival was added) are not its business. The trail keeps
them for the portal's staff (docs/scorecard.md)."""

from __future__ import annotations

from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.db import transaction

from contracts.models import Contract, Organisation
from contracts.services.audit import audit_record
from contracts.services.commitments import upload_checked

from .criteria import CRITERIA, QUESTION
from .models import Answer, Assessment, Candidate
from .scoring import ANSWER_CHOICES, weights_problems


def _audit(actor, source: str, action: str, obj, changes: dict) -> None:
    audit_record(actor=actor, source=source, contract=None, action=action, obj=obj, changes=changes)


def assessment_ensure(*, client: Organisation, contract: Contract) -> Assessment:
    """The client's scorecard, made on first use with the default weights and the contract's
    MSP as the incumbent. Idempotent."""
    with transaction.atomic():
        assessment, _ = Assessment.objects.get_or_create(
            client=client, defaults={"contract": contract}
        )
        Candidate.objects.get_or_create(
            assessment=assessment,
            is_incumbent=True,
            defaults={"name": assessment.contract.msp.name},
        )
    return assessment


def weights_set(*, assessment: Assessment, weights: dict, actor, source: str) -> None:
    """Store new weights (criterion key → whole percent); ValidationError naming each
    criterion that is wrong, or the total when they do not add to 100%."""
    problems = weights_problems(weights, {c.key: c.title for c in CRITERIA})
    if problems:
        raise ValidationError(problems)
    before = dict(assessment.weights)
    assessment.weights = {c.key: weights[c.key] for c in CRITERIA}
    assessment.save(update_fields=["weights", "updated_at"])
    _audit(actor, source, "update", assessment, {"weights": [before, assessment.weights]})


def candidate_add(*, assessment: Assessment, name: str, actor, source: str) -> Candidate:
    """A newcomer on the scorecard; ValidationError for an empty or repeated name."""
    name = " ".join(name.split())[:200]
    if not name:
        raise ValidationError("Name the provider to add.")
    if assessment.candidates.filter(name__iexact=name).exists():
        raise ValidationError(f"{name} is already on the scorecard.")
    candidate = Candidate.objects.create(assessment=assessment, name=name)
    _audit(actor, source, "create", candidate, {"name": [None, name]})
    return candidate


def answers_save(
    *, candidate: Candidate, answers: dict[str, dict], files: dict, actor, source: str
) -> int:
    """Store a candidate's answers: question key → {"answer": yes|partly|no|"", "note"};
    `files`: question key → an uploaded evidence file. An empty answer with no file leaves a
    question unanswered. Every file is checked before anything is stored (a bad one raises
    ValidationError naming its question, and nothing changes). Returns how many changed."""
    problems, checked = [], {}
    for key, upload in files.items():
        try:
            checked[key] = upload_checked(upload)
        except ValidationError as error:
            problems.append(f"{QUESTION[key].text}: {' '.join(error.messages)}")
    for key, given in answers.items():
        if given["answer"] and given["answer"] not in ANSWER_CHOICES:
            problems.append(f"{QUESTION[key].text}: choose yes, partly or no.")
        if key in files and not given["answer"]:
            problems.append(f"{QUESTION[key].text}: choose an answer for the evidence attached.")
    if problems:
        raise ValidationError(problems)
    changed = 0
    with transaction.atomic():
        existing = {a.question: a for a in candidate.answers.all()}
        for key, given in answers.items():
            if _answer_store(
                candidate, key, given, files.get(key), checked.get(key), existing, actor
            ):
                changed += 1
        if changed:
            _audit(actor, source, "update", candidate, {"answers changed": [None, changed]})
    return changed


def _answer_store(candidate, key, given, upload, checked, existing, actor) -> bool:
    answer = existing.get(key)
    if not given["answer"]:
        if answer is None:
            return False
        answer.delete()  # cleared: the question is unanswered again
        return True
    if answer is None:
        answer = Answer(candidate=candidate, question=key)
    unchanged = answer.answer == given["answer"] and answer.note == given["note"]
    if unchanged and upload is None:
        return False
    answer.answer, answer.note = given["answer"], given["note"][:500]
    answer.answered_by = actor if actor is not None and actor.is_authenticated else None
    if upload is not None:
        answer.evidence_type, answer.evidence_sha256 = checked
        answer.evidence_name = PurePath(upload.name).name[:255]
        answer.evidence.save(answer.evidence_name, upload, save=False)
    answer.save()
    return True
