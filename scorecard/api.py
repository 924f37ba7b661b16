"""The provider scorecard through the API: the comparison the page shows (scorecard/comparison.py:
criteria, weights, candidates, each candidate's score per criterion with the lines it comes
from, measured or answered, and the weighted total), its PDF, the weights and the answers.
Reads are for parties to the assessment's contract (the incumbent MSP sees its own column
only, as on the page); writes need Action.EDIT_SCORECARD (the client's admins and its advisory
firm). The same services as the pages."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from django.urls import reverse
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from msp_portal.api import IdFilterSet
from msp_portal.tenancy import Action, contract_access, may_see_rival_candidates, visible_contracts

from .comparison import Comparison, comparison_build
from .criteria import CRITERIA, QUESTION
from .models import Assessment
from .pdf import comparison_pdf_render, pdf_filename
from .scoring import ANSWER_CHOICES
from .services import answers_save, weights_set

REFUSED = "Only the client's admins and its advisory firm change the scorecard."

# --- What a scorecard reads as (the comparison) ---------------------------------------------


class LineSerializer(serializers.Serializer):
    question = serializers.CharField(allow_null=True, help_text="the question's key, or null")
    subject = serializers.CharField(allow_blank=True, help_text="the question, in words")
    words = serializers.CharField(help_text="the figure measured, or the answer, in words")
    score = serializers.IntegerField(allow_null=True, help_text="0-5; null: shown, not counted")
    measured = serializers.BooleanField(help_text="measured here, not answered")
    evidence_url = serializers.CharField(allow_null=True, help_text="the answer's file")


class ScoreSerializer(serializers.Serializer):
    criterion = serializers.CharField()
    title = serializers.CharField()
    score = serializers.FloatField(allow_null=True, help_text="0-5, to one decimal")
    measured = serializers.BooleanField(help_text="some of it measured here")
    lines = LineSerializer(many=True)


class CandidateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    incumbent = serializers.BooleanField()
    total = serializers.FloatField(help_text="the weighted total, out of 5")
    scores = ScoreSerializer(many=True)


class WeightSerializer(serializers.Serializer):
    criterion = serializers.CharField()
    title = serializers.CharField()
    weight = serializers.IntegerField(help_text="whole percent; together they add to 100")


class ScorecardSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    client = serializers.CharField(help_text="the client's slug")
    contract = serializers.IntegerField(help_text="the contract whose MSP is the incumbent")
    weights = WeightSerializer(many=True)
    candidates = CandidateSerializer(many=True)
    pdf_url = serializers.CharField()


def _line(line, slug: str) -> dict:
    answer = line.answer
    evidence = (
        reverse("scorecard_answer_evidence", args=[slug, answer.pk])
        if answer is not None and answer.has_evidence
        else None
    )
    return {
        "question": answer.question if answer is not None else _question_key(line.subject),
        "subject": line.subject,
        "words": line.words,
        "score": line.score,
        "measured": line.measured,
        "evidence_url": evidence,
    }


_KEY_BY_TEXT = {q.text: q.key for q in QUESTION.values()}


def _question_key(subject: str) -> str | None:
    return _KEY_BY_TEXT.get(subject)


def scorecard_data(comparison: Comparison) -> dict:
    """The comparison as the API answers it: per candidate, the rows' cells in criteria order."""
    assessment = comparison.assessment
    slug = assessment.client.slug
    candidates = []
    for i, (candidate, total) in enumerate(
        zip(comparison.candidates, comparison.totals, strict=True)
    ):
        scores = [
            {
                "criterion": row.criterion.key,
                "title": row.criterion.title,
                "score": row.cells[i].score,
                "measured": row.cells[i].measured,
                "lines": [_line(line, slug) for line in row.cells[i].lines],
            }
            for row in comparison.rows
        ]
        candidates.append(
            {
                "id": candidate.pk,
                "name": candidate.name,
                "incumbent": candidate.is_incumbent,
                "total": total,
                "scores": scores,
            }
        )
    return {
        "id": assessment.pk,
        "client": slug,
        "contract": assessment.contract_id,
        "weights": [
            {"criterion": row.criterion.key, "title": row.criterion.title, "weight": row.weight}
            for row in comparison.rows
        ],
        "candidates": candidates,
        "pdf_url": reverse("scorecard-pdf", args=[assessment.pk]),
    }


# --- What a write takes -----------------------------------------------------------------------

WeightsSerializer = type(
    "ScorecardWeights",
    (serializers.Serializer,),
    {
        c.key: serializers.IntegerField(
            required=False, min_value=0, max_value=100, help_text=f"{c.title}, whole percent"
        )
        for c in CRITERIA
    },
)


class WeightsUpdateSerializer(serializers.Serializer):
    weights = WeightsSerializer(
        help_text="criterion → whole percent; one left out keeps its weight; they add to 100"
    )


class AnswerSerializer(serializers.Serializer):
    candidate = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    question = serializers.ChoiceField(choices=[(q.key, q.text) for q in QUESTION.values()])
    answer = serializers.ChoiceField(
        choices=[*ANSWER_CHOICES, ""], help_text="yes, partly or no; empty clears the answer"
    )
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    evidence = serializers.FileField(required=False, help_text="a file backing the answer")


class ScorecardFilter(IdFilterSet):
    client = filters.CharFilter(field_name="client__slug", help_text="the client's slug")

    class Meta:
        model = Assessment
        fields: list[str] = []


class ScorecardViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The provider scorecards of the clients whose contract the caller is party to."""

    serializer_class = ScorecardSerializer
    filterset_class = ScorecardFilter
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        return (
            Assessment.objects.filter(contract__in=visible_contracts(self.request.user))
            .select_related("client", "contract__msp", "contract__client")
            .order_by("client__slug", "id")
        )

    def _comparison(self, assessment: Assessment) -> Comparison:
        access = contract_access(self.request.user, assessment.contract)
        return comparison_build(assessment, with_rivals=may_see_rival_candidates(access))

    def _answer(self, assessment: Assessment) -> Response:
        return Response(scorecard_data(self._comparison(assessment)))

    def _require_edit(self, assessment: Assessment) -> None:
        if not contract_access(self.request.user, assessment.contract).can(Action.EDIT_SCORECARD):
            raise PermissionDenied(REFUSED)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        data = [scorecard_data(self._comparison(a)) for a in page]
        return self.get_paginated_response(data)

    def retrieve(self, request, *args, **kwargs):
        return self._answer(self.get_object())

    @extend_schema(request=WeightsUpdateSerializer, responses=ScorecardSerializer)
    def partial_update(self, request, *args, **kwargs):
        """New weights (the client's admins and its advisory firm): each criterion a whole
        percent, together 100; a 400 names each that is wrong, or the total."""
        assessment = self.get_object()
        self._require_edit(assessment)
        payload = WeightsUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        weights = {**assessment.weights, **payload.validated_data["weights"]}
        try:
            weights_set(assessment=assessment, weights=weights, actor=request.user, source="api")
        except DjangoValidationError as error:
            raise ValidationError({"weights": error.messages}) from None
        return self._answer(assessment)

    @extend_schema(
        request={"multipart/form-data": AnswerSerializer, "application/json": AnswerSerializer},
        responses=ScorecardSerializer,
    )
    @action(detail=True, methods=["post"])
    def answers(self, request, pk=None):
        """One candidate's answer to one question, with an evidence file (multipart) or
        without (JSON); an empty answer clears it. The client's admins and its advisory firm."""
        assessment = self.get_object()
        self._require_edit(assessment)
        payload = AnswerSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        candidate = assessment.candidates.filter(pk=data["candidate"]).first()
        if candidate is None:
            raise ValidationError({"candidate": ["No candidate of this scorecard has this id."]})
        files = {data["question"]: data["evidence"]} if data.get("evidence") else {}
        try:
            answers_save(
                candidate=candidate,
                answers={data["question"]: {"answer": data["answer"], "note": data["note"]}},
                files=files,
                actor=request.user,
                source="api",
            )
        except DjangoValidationError as error:
            field = "evidence" if files else "answer"
            raise ValidationError({field: error.messages}) from None
        return self._answer(assessment)

    @extend_schema(
        responses={(200, "application/pdf"): OpenApiResponse(description="The comparison as a PDF")}
    )
    @action(detail=True, methods=["get"])
    def pdf(self, request, pk=None):
        """The comparison as the page's PDF, as this caller may see it."""
        assessment = self.get_object()
        response = HttpResponse(
            comparison_pdf_render(self._comparison(assessment)), content_type="application/pdf"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="{pdf_filename(assessment.client)}"'
        )
        return response
