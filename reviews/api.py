"""Reviews (QBRs) through the API: the reviews of the caller's contracts, drafts and published
versions alike, as the review pages show them to every party, and the PDF last made of each."""

from __future__ import annotations

from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.reverse import reverse

from msp_portal.api import IdFilterSet
from msp_portal.tenancy import visible_contracts

from .models import Review
from .views import pdf_response


@extend_schema_field({"type": "string", "pattern": r"^[0-9]{4}-Q[1-4]$"})
class QuarterFilter(filters.CharFilter):
    """A quarter by its label (2025-Q3)."""


class ReviewFilter(IdFilterSet):
    client = filters.CharFilter(field_name="client__slug", help_text="the client's slug")
    quarter = QuarterFilter(help_text="2025-Q3")
    status = filters.ChoiceFilter(choices=Review.Status.choices)

    class Meta:
        model = Review
        fields = ["contract"]


class ReviewSerializer(serializers.ModelSerializer):
    client = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    published_by = serializers.StringRelatedField(allow_null=True)
    pdf_url = serializers.SerializerMethodField(
        help_text="where the last PDF made is downloaded; null until one is made"
    )

    class Meta:
        model = Review
        fields = [
            "id",
            "client",
            "contract",
            "quarter",
            "version",
            "status",
            "correction_note",
            "msp_commentary",
            "advisor_commentary",
            "recommendations",
            "attendees",
            "next_review_on",
            "created_at",
            "published_at",
            "published_by",
            "pdf_status",
            "pdf_generated_at",
            "pdf_pages",
            "pdf_url",
        ]

    def get_pdf_url(self, review: Review) -> str | None:
        if not review.pdf:
            return None
        return reverse("review-pdf", args=[review.pk], request=self.context.get("request"))


class ReviewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Reviews of the contracts the caller is party to (a client's second MSP sees only its own,
    as on the pages); a draft is shown as it stands, a published version as it was frozen."""

    serializer_class = ReviewSerializer
    filterset_class = ReviewFilter

    def get_queryset(self):
        return (
            Review.objects.filter(contract__in=visible_contracts(self.request.user))
            .select_related("client", "published_by")
            .defer("frozen")
            .order_by("client__slug", "-quarter", "-version", "id")
        )

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(
                response=OpenApiTypes.BINARY,
                description="The review's last PDF (404 until one is made)",
            )
        }
    )
    @action(detail=True, methods=["get"])
    def pdf(self, request, pk=None):
        # The page's own answer (reviews.views.pdf_response): same file, same name.
        return pdf_response(self.get_object())
