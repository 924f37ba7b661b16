"""/api/v1/reported-figures/: the MSP's reported figures of a client's period, with the report
file. Lists and details are scoped to the contracts the caller is party to; writes need
Action.ENTER_REPORTED on the caller's own contract with the client (MSP staff and the advisor)."""

from __future__ import annotations

import math

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from kpis.metrics.registry import KPI
from kpis.read_api.filters import PeriodFilter, client_filter, period_label_check
from msp_portal.api import IdFilterSet
from msp_portal.tenancy import (
    Action,
    contract_access,
    current_party_contract,
    visible_clients,
    visible_contracts,
)

from .figures import LARGEST, REPORTED_KEYS
from .models import MspReport
from .reports import msp_report_attach, msp_report_save, report_file_response


def _finite(value) -> None:
    if value is not None and not math.isfinite(value):
        raise serializers.ValidationError("a finite number")


def _figure_field(key: str) -> serializers.Field:
    """One figure in the unit the portal stores it: a rate as a fraction, minutes, a count."""
    kpi = KPI[key]
    common = {"required": False, "allow_null": True, "source": key.replace(".", "_")}
    if kpi.unit == "rate":
        return serializers.FloatField(
            min_value=0, max_value=1, validators=[_finite], help_text=f"{kpi.label}, 0–1", **common
        )
    if kpi.unit == "minutes":
        return serializers.FloatField(
            min_value=0,
            max_value=LARGEST,
            validators=[_finite],
            help_text=f"{kpi.label}, business minutes",
            **common,
        )
    return serializers.IntegerField(
        min_value=0, max_value=int(LARGEST), help_text=kpi.label, **common
    )


# The figures as one object, a property per KPI key ("resolution.compliance": 0.945).
FiguresSerializer = type(
    "ReportedValues",
    (serializers.Serializer,),
    {key: _figure_field(key) for key in REPORTED_KEYS},
)


def figures_of(report: MspReport) -> dict:
    """The figures keyed as FiguresSerializer reads them (its sources have no dots)."""
    return {f.key.replace(".", "_"): f.value for f in report.figures.all()}


def figures_given(validated: dict) -> dict[str, float | None]:
    """Validated figures back under their KPI keys."""
    by_source = {key.replace(".", "_"): key for key in REPORTED_KEYS}
    return {by_source[source]: value for source, value in validated.items()}


class ReportedFiguresSerializer(serializers.ModelSerializer):
    client = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    period = serializers.CharField(source="period_label", read_only=True)
    figures = serializers.SerializerMethodField()
    file_name = serializers.CharField(source="original_name", read_only=True)
    entered_by = serializers.StringRelatedField(allow_null=True)

    class Meta:
        model = MspReport
        fields = [
            "id",
            "client",
            "contract",
            "period",
            "figures",
            "note",
            "file_name",
            "content_type",
            "size",
            "sha256",
            "entered_by",
            "entered_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(FiguresSerializer)
    def get_figures(self, report: MspReport) -> dict:
        return FiguresSerializer(figures_of(report)).data


class ReportedFiguresCreateSerializer(serializers.Serializer):
    client = serializers.SlugField(help_text="the client's slug")
    period = serializers.CharField(
        max_length=10, validators=[period_label_check], help_text="2025-07, 2025-Q3 or 2025"
    )
    figures = FiguresSerializer()
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class ReportedFiguresUpdateSerializer(serializers.Serializer):
    figures = FiguresSerializer(required=False)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class ReportFileSerializer(serializers.Serializer):
    file = serializers.FileField()


class ReportedFiguresFilter(IdFilterSet):
    client = client_filter()
    period = PeriodFilter(field_name="period_label", help_text="2025-07, 2025-Q3 or 2025")

    class Meta:
        model = MspReport
        fields: list[str] = []


def _invalid(error: DjangoValidationError) -> ValidationError:
    return ValidationError(error.message_dict if hasattr(error, "error_dict") else error.messages)


class ReportedFiguresViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The figures an MSP's own report states for a client's period, and the report file."""

    serializer_class = ReportedFiguresSerializer
    filterset_class = ReportedFiguresFilter

    def get_queryset(self):
        return (
            MspReport.objects.filter(contract__in=visible_contracts(self.request.user))
            .select_related("client", "entered_by")
            .prefetch_related("figures")
            .order_by("client__slug", "-period_label", "id")
        )

    def _require_entry(self, contract) -> None:
        if not contract_access(self.request.user, contract).can(Action.ENTER_REPORTED):
            raise PermissionDenied("Your role does not allow entering the MSP's figures.")

    @extend_schema(
        request=ReportedFiguresCreateSerializer, responses={201: ReportedFiguresSerializer}
    )
    def create(self, request, *args, **kwargs):
        payload = ReportedFiguresCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        # Another tenant's client reads exactly like one that does not exist.
        client = visible_clients(request.user).filter(slug=data["client"]).first()
        # The caller's own contract with the client: an MSP enters its own report.
        contract = client and current_party_contract(request.user, client)
        if contract is None:
            raise ValidationError({"client": ["No client you work with has this slug."]})
        self._require_entry(contract)
        if MspReport.objects.filter(contract=contract, period_label=data["period"]).exists():
            raise ValidationError(
                {"period": ["The MSP's figures for this period are entered already: update them."]}
            )
        try:
            report = msp_report_save(
                contract=contract,
                period_label=data["period"],
                figures=figures_given(data["figures"]),
                note=data.get("note", ""),
                actor=request.user,
                source="api",
            )
        except DjangoValidationError as error:
            raise _invalid(error) from None
        report = self.get_queryset().get(pk=report.pk)
        return Response(self.get_serializer(report).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReportedFiguresUpdateSerializer, responses=ReportedFiguresSerializer)
    def update(self, request, *args, **kwargs):
        report = self.get_object()
        self._require_entry(report.contract)
        payload = ReportedFiguresUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        try:
            msp_report_save(
                contract=report.contract,
                period_label=report.period_label,
                figures=figures_given(data.get("figures", {})),
                note=data.get("note"),
                actor=request.user,
                source="api",
            )
        except DjangoValidationError as error:
            raise _invalid(error) from None
        return Response(self.get_serializer(self.get_queryset().get(pk=report.pk)).data)

    @extend_schema(request=ReportedFiguresUpdateSerializer, responses=ReportedFiguresSerializer)
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": ReportFileSerializer},
        responses={200: ReportedFiguresSerializer},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def file(self, request, pk=None):
        """Attach the MSP's report (checked like commitment evidence)."""
        report = self.get_object()
        self._require_entry(report.contract)
        payload = ReportFileSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            msp_report_attach(
                report=report,
                upload=payload.validated_data["file"],
                actor=request.user,
                source="api",
            )
        except DjangoValidationError as error:
            raise ValidationError({"file": error.messages}) from None
        return Response(self.get_serializer(self.get_queryset().get(pk=report.pk)).data)

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(description="The report file"),
            404: OpenApiResponse(description="No such report, or no file attached"),
        }
    )
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        return report_file_response(self.get_object())
