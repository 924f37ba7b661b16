"""A client's provider assessment: its weights, its candidates (the incumbent MSP and
newcomers) and each candidate's answers with their evidence files."""

from __future__ import annotations

import uuid
from pathlib import PurePath

from django.conf import settings
from django.db import models

from .criteria import DEFAULT_WEIGHTS


def _default_weights() -> dict:
    return dict(DEFAULT_WEIGHTS)


def _evidence_path(instance, filename: str) -> str:
    # A random name on disk: the original name is kept on the row and given back on download.
    suffix = PurePath(filename).suffix.lower()
    return f"scorecard/{instance.candidate.assessment.client_id}/{uuid.uuid4().hex}{suffix}"


class Assessment(models.Model):
    """The scorecard of one client: the contract whose MSP is the incumbent, and the weights
    (criterion key → whole percent, adding to 100)."""

    client = models.OneToOneField(
        "contracts.Organisation", on_delete=models.CASCADE, related_name="scorecard"
    )
    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.CASCADE, related_name="scorecards"
    )
    weights = models.JSONField(default=_default_weights)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Provider scorecard of {self.client}"


class Candidate(models.Model):
    """A provider on the scorecard: the incumbent (with measured history) or a newcomer."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="candidates")
    name = models.CharField(max_length=200)
    is_incumbent = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_incumbent", "created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "name"], name="one_candidate_per_name"),
            models.UniqueConstraint(
                fields=["assessment"],
                condition=models.Q(is_incumbent=True),
                name="one_incumbent_per_assessment",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Answer(models.Model):
    """A candidate's answer to one question (criteria.QUESTION), with an optional evidence file."""

    class Choice(models.TextChoices):
        YES = "yes", "Yes"
        PARTLY = "partly", "Partly"
        NO = "no", "No"

    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="answers")
    question = models.CharField(max_length=40)
    answer = models.CharField(max_length=10, choices=Choice.choices)
    note = models.CharField(max_length=500, blank=True, default="")
    evidence = models.FileField(upload_to=_evidence_path, blank=True)
    evidence_name = models.CharField(max_length=255, blank=True, default="")
    evidence_type = models.CharField(max_length=100, blank=True, default="")
    evidence_sha256 = models.CharField(max_length=64, blank=True, default="")
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["candidate", "question"], name="one_answer_per_question"
            )
        ]

    def __str__(self) -> str:
        return f"{self.candidate}: {self.get_answer_display()}"

    @property
    def has_evidence(self) -> bool:
        return bool(self.evidence)
