"""The MSP's tool reports and the occurrences measured from them, through the API. Built from
the table of kinds (evidence/kinds.py), so a kind added there is listed, imported, undone and
drilled into here with no code of its own. Lists and details are scoped to the contracts the
caller is party to; imports and undos need Action.IMPORT_TICKETS on the caller's own contract
with the client (MSP staff and the advisor), as on the pages."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.http import Http404
from django.urls import reverse
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from contracts.models import CommitmentOccurrence
from contracts.services.commitments import contract_today
from msp_portal.api import IdFilterSet
from msp_portal.downloads import stored_file_download
from msp_portal.tenancy import (
    Action,
    contract_access,
    current_party_contract,
    party_contracts,
    visible_clients,
    visible_contracts,
)

from .jobs import progress_get, tool_report_job_create, tool_report_job_requeue_if_lost
from .kinds import KINDS, ReportKind
from .measures import measure_words
from .models import ToolReport, ToolReportJob, ToolReportMapping
from .saved_mappings import saved_mapping_by_id, usable_by

KIND_CHOICES = ToolReport.Kind.choices
STATUS_WORDS = dict(CommitmentOccurrence.Status.choices)
REFUSED = "Only the MSP's staff and the advisor import or undo tool reports."


def _upload_contract(user, client, contract_id: int | None):
    """The contract an upload is for: the one named, among the caller's contracts of the
    client; else the newest, unless several are in force today (a report of one MSP must not
    land on the other's contract by a guess)."""
    contracts = party_contracts(user, client).select_related("msp").order_by("-starts", "-id")
    listed = "; ".join(f"{c.pk}: {c.name} ({c.msp.name})" for c in contracts)
    if contract_id is not None:
        for contract in contracts:
            if contract.pk == contract_id:
                return contract
        raise ValidationError(
            {
                "contract": [
                    f"No contract of {client.name} of yours has the id {contract_id}; "
                    f"yours are {listed}."
                ]
            }
        )
    in_force = [c for c in contracts if _in_force(c)]
    if len(in_force) == 1:
        return in_force[0]  # not a renewal that starts later
    if len(in_force) > 1:
        raise ValidationError(
            {
                "contract": [
                    f"{client.name} has {len(in_force)} contracts in force that you are "
                    f"party to: say which with the contract's id ({listed})."
                ]
            }
        )
    contract = current_party_contract(user, client)
    if contract is None:  # a client's own member, before it has any contract
        raise ValidationError({"client": [f"{client.name} has no contract to import for yet."]})
    return contract


def _in_force(contract) -> bool:
    today = contract_today(contract)  # the contract's own day, in its time zone
    return contract.starts <= today and (contract.ends is None or contract.ends >= today)


def _kind_words(kind: str) -> str:
    return dict(KIND_CHOICES).get(kind, kind)


def _refused(field: str, error: DjangoValidationError) -> ValidationError:
    """A service's refusal under the field it names, else under `field`."""
    if hasattr(error, "error_dict"):
        return ValidationError(error.message_dict)
    return ValidationError({field: error.messages})


# --- Tool reports -----------------------------------------------------------------------------


class ProblemSerializer(serializers.Serializer):
    row = serializers.IntegerField(allow_null=True, help_text="as the spreadsheet numbers it")
    column = serializers.CharField(allow_blank=True)
    value = serializers.CharField(allow_blank=True, allow_null=True)
    reason = serializers.CharField()


class ToolReportSerializer(serializers.ModelSerializer):
    client = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    kind_words = serializers.SerializerMethodField(help_text="the kind of report, in words")
    preset_words = serializers.SerializerMethodField(help_text="the tool it was exported from")
    uploaded_by = serializers.StringRelatedField(allow_null=True)
    problems = ProblemSerializer(many=True, read_only=True)

    class Meta:
        model = ToolReport
        fields = [
            "id",
            "client",
            "contract",
            "kind",
            "kind_words",
            "preset",
            "preset_words",
            "original_name",
            "sha256",
            "report_date",
            "uploaded_by",
            "uploaded_at",
            "rows_read",
            "rows_imported",
            "problems",
            "statement",
        ]
        read_only_fields = fields

    def get_kind_words(self, report: ToolReport) -> str:
        return _kind_words(report.kind)

    def get_preset_words(self, report: ToolReport) -> str:
        kind = KINDS.get(report.kind)
        preset = kind.layout.preset(report.preset) if kind is not None else None
        return preset.label if preset is not None else report.preset


class ToolReportUploadSerializer(serializers.Serializer):
    client = serializers.SlugField(help_text="the client's slug")
    kind = serializers.ChoiceField(choices=[(k, v.noun) for k, v in KINDS.items()])
    preset = serializers.CharField(
        max_length=40,
        required=False,
        help_text="the tool's layout: ninjaone, generic ... (default: the saved columns' "
        "layout, else generic)",
    )
    report_date = serializers.DateField(help_text="the day the tool exported the report")
    saved_columns = serializers.IntegerField(
        required=False,
        help_text="the id of saved columns (/api/v1/tool-report-columns/) for this kind: their "
        "layout and columns, under any given in `mapping`",
    )
    file = serializers.FileField()
    mapping = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=5000,
        help_text='a JSON object, field → the file\'s column for it: {"device": "Computer"}',
    )
    statement = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="what the MSP attests, for the kinds that take a statement",
    )
    contract = serializers.IntegerField(
        required=False,
        help_text="the contract's id: needed when you are party to more than one contract of "
        "the client in force (an advisor of a client with two MSPs); otherwise the newest",
    )

    def validate(self, data: dict) -> dict:
        kind: ReportKind = KINDS[data["kind"]]
        if "preset" in data and kind.layout.preset(data["preset"]) is None:
            raise ValidationError(
                {"preset": [f"choose one of {', '.join(kind.layout.presets)} for a {kind.noun}"]}
            )
        data["mapping"] = _mapping_read(data.get("mapping") or "", kind)
        if kind.statement and not data.get("statement", "").strip():
            raise ValidationError({"statement": [f"a {kind.noun} needs the MSP's statement"]})
        return data


def _mapping_read(text: str, kind: ReportKind) -> dict[str, str]:
    """The mapping's JSON object, each key a field of the kind and each value a column name."""
    if not text.strip():
        return {}
    try:
        mapping = json.loads(text)
    except ValueError:
        raise ValidationError(
            {"mapping": ['not JSON: give an object like {"device": "Computer"}']}
        ) from None
    if not isinstance(mapping, dict):
        raise ValidationError({"mapping": ["give a JSON object, field → column"]})
    fields = kind.layout.fields
    problems = [
        f"'{key}' is not a field of a {kind.noun}: {', '.join(fields)}"
        for key in mapping
        if key not in fields
    ]
    problems += [
        f"{key}: give the column's name as text"
        for key, col in mapping.items()
        if not isinstance(col, str)
    ]
    if problems:
        raise ValidationError({"mapping": problems})
    return {key: col.strip()[:200] for key, col in mapping.items() if col.strip()}


# --- Imports in the background -----------------------------------------------------------------


class ToolReportJobSerializer(serializers.ModelSerializer):
    client = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    kind_words = serializers.SerializerMethodField(help_text="the kind of report, in words")
    status_words = serializers.SerializerMethodField(help_text="the status, in words")
    phase = serializers.SerializerMethodField(help_text="what it is doing now, in words")
    rows_done = serializers.SerializerMethodField(help_text="rows stored so far")
    rows_total = serializers.SerializerMethodField(
        help_text="rows to store; null until the file is read"
    )
    uploaded_by = serializers.StringRelatedField(allow_null=True)

    class Meta:
        model = ToolReportJob
        fields = [
            "id",
            "client",
            "contract",
            "kind",
            "kind_words",
            "preset",
            "original_name",
            "report_date",
            "via",
            "uploaded_by",
            "status",
            "status_words",
            "phase",
            "rows_done",
            "rows_total",
            "message",
            "report",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def _progress(self, job: ToolReportJob) -> dict:
        # One look at the live progress per job and answer.
        seen = self.context.setdefault("progress", {})
        if job.pk not in seen:
            seen[job.pk] = progress_get(job)
        return seen[job.pk]

    def get_kind_words(self, job: ToolReportJob) -> str:
        return _kind_words(job.kind)

    def get_status_words(self, job: ToolReportJob) -> str:
        return job.get_status_display()

    def get_phase(self, job: ToolReportJob) -> str:
        return self._progress(job)["phase"]

    def get_rows_done(self, job: ToolReportJob) -> int:
        return self._progress(job)["done"]

    def get_rows_total(self, job: ToolReportJob) -> int | None:
        return self._progress(job)["total"]


class ToolReportJobFilter(IdFilterSet):
    client = filters.CharFilter(field_name="client__slug", help_text="the client's slug")
    kind = filters.ChoiceFilter(choices=KIND_CHOICES)
    status = filters.ChoiceFilter(choices=ToolReportJob.Status.choices)

    class Meta:
        model = ToolReportJob
        fields = ["contract"]


class ToolReportJobViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Tool reports uploaded for the caller's contracts and imported in the background, newest
    first: each one's status and progress, and once done its report."""

    serializer_class = ToolReportJobSerializer
    filterset_class = ToolReportJobFilter

    def get_queryset(self):
        return (
            ToolReportJob.objects.filter(contract__in=visible_contracts(self.request.user))
            .select_related("client", "uploaded_by")
            .order_by("-created_at", "-id")
        )

    def retrieve(self, request, *args, **kwargs):
        """One import; a look at one queued while the broker was down hands it to a worker."""
        job = tool_report_job_requeue_if_lost(self.get_object())
        return Response(self.get_serializer(job).data)


class ToolReportFilter(IdFilterSet):
    client = filters.CharFilter(field_name="client__slug", help_text="the client's slug")
    kind = filters.ChoiceFilter(choices=KIND_CHOICES)

    class Meta:
        model = ToolReport
        fields = ["contract"]


class ToolReportViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """The MSP's tool reports imported for the caller's contracts, newest first."""

    serializer_class = ToolReportSerializer
    filterset_class = ToolReportFilter
    # An import is a file upload; the other actions take no body.
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        return (
            ToolReport.objects.filter(contract__in=visible_contracts(self.request.user))
            .select_related("client", "uploaded_by")
            .order_by("-report_date", "-uploaded_at", "-id")
        )

    def _require_import(self, contract) -> None:
        if not contract_access(self.request.user, contract).can(Action.IMPORT_TICKETS):
            raise PermissionDenied(REFUSED)

    @extend_schema(
        request={"multipart/form-data": ToolReportUploadSerializer},
        responses={202: ToolReportJobSerializer},
    )
    def create(self, request, *args, **kwargs):
        """Import a tool report (MSP staff and the advisor): 202 with the import, queued for a
        worker; follow it at /api/v1/tool-report-imports/{id}/ until its status is done (its
        report), rejected or failed (its message says why). What needs no reading of the rows
        (layout, date, statement, file type and size) is refused here, with 400."""
        payload = ToolReportUploadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        client = visible_clients(request.user).filter(slug=data["client"]).first()
        if client is None:
            raise ValidationError({"client": ["No client you work with has this slug."]})
        contract = _upload_contract(request.user, client, data.get("contract"))
        self._require_import(contract)
        preset, mapping = data.get("preset") or "generic", data["mapping"]
        if data.get("saved_columns") is not None:
            saved = saved_mapping_by_id(contract, data["saved_columns"])
            if saved is None or saved.kind != data["kind"]:
                noun = KINDS[data["kind"]].noun
                raise ValidationError(
                    {
                        "saved_columns": [
                            f"No saved columns for a {noun} of this contract have the id "
                            f"{data['saved_columns']}: /api/v1/tool-report-columns/ lists them."
                        ]
                    }
                )
            preset, mapping = data.get("preset") or saved.preset, {**saved.mapping, **mapping}
        try:
            job = tool_report_job_create(
                contract=contract,
                kind=KINDS[data["kind"]],
                upload=data["file"],
                preset=preset,
                report_date=data["report_date"],
                mapping=mapping,
                statement=data.get("statement", ""),
                actor=request.user,
                via=ToolReportJob.Via.API,
            )
        except DjangoValidationError as error:
            raise _refused("file", error) from None
        return Response(
            ToolReportJobSerializer(job, context=self.get_serializer_context()).data,
            status=status.HTTP_202_ACCEPTED,
        )

    @extend_schema(
        request=None,
        responses={204: OpenApiResponse(description="Taken back: its rows are gone")},
    )
    @action(detail=True, methods=["post"])
    def undo(self, request, pk=None):
        """Take a report back (MSP staff and the advisor), the newest of its kind first: its
        rows go, the rows it overwrote come back, the measured commitments are judged again."""
        report = self.get_object()
        self._require_import(report.contract)
        kind = KINDS.get(report.kind)
        if kind is None:
            raise ValidationError(
                {"detail": [f"A {_kind_words(report.kind)} cannot be undone yet."]}
            )
        try:
            kind.undo_report(report=report, actor=request.user, source="api")
        except DjangoValidationError as error:
            raise _refused("detail", error) from None
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(description="The report as uploaded")
        }
    )
    @action(detail=True, methods=["get"])
    def file(self, request, pk=None):
        report = self.get_object()
        return stored_file_download(report.file, report.original_name)


# --- Measured occurrences ---------------------------------------------------------------------


class MeasuredOccurrenceSerializer(serializers.ModelSerializer):
    client = serializers.SlugRelatedField(
        source="commitment.contract.client", slug_field="slug", read_only=True
    )
    contract = serializers.IntegerField(source="commitment.contract_id", read_only=True)
    commitment_name = serializers.CharField(source="commitment.name", read_only=True)
    kind = serializers.CharField(source="commitment.measured_by", read_only=True)
    kind_words = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField(
        help_text="kept, missed, due, awaiting_report (over, the report not in yet) or overdue"
    )
    status_words = serializers.SerializerMethodField()
    measure = serializers.JSONField(
        read_only=True, allow_null=True, help_text="the stored figures; null until measured"
    )
    measure_words = serializers.SerializerMethodField()
    rows_url = serializers.SerializerMethodField(
        help_text="the API's rows behind it; null for a kind with none yet"
    )

    class Meta:
        model = CommitmentOccurrence
        fields = [
            "id",
            "client",
            "contract",
            "commitment",
            "commitment_name",
            "kind",
            "kind_words",
            "period_start",
            "due_date",
            "status",
            "status_words",
            "measure",
            "measure_words",
            "rows_url",
        ]
        read_only_fields = fields

    def _status(self, occ: CommitmentOccurrence) -> str:
        # One "today" per contract (its time zone) for the whole answer.
        todays = self.context.setdefault("todays", {})
        contract = occ.commitment.contract
        if contract.pk not in todays:
            todays[contract.pk] = contract_today(contract)
        return occ.status_on(todays[contract.pk], 0)

    def get_kind_words(self, occ: CommitmentOccurrence) -> str:
        return _kind_words(occ.commitment.measured_by)

    def get_status(self, occ: CommitmentOccurrence) -> str:
        return self._status(occ)

    def get_status_words(self, occ: CommitmentOccurrence) -> str:
        return STATUS_WORDS[self._status(occ)]

    def get_measure_words(self, occ: CommitmentOccurrence) -> str:
        return measure_words(occ.commitment.measured_by, occ.measure)

    def get_rows_url(self, occ: CommitmentOccurrence) -> str | None:
        kind = KINDS.get(occ.commitment.measured_by)
        if kind is None or kind.rows is None:
            return None
        url = reverse("measured-occurrence-rows", args=[occ.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


class MeasuredRowsSerializer(serializers.Serializer):
    occurrence = serializers.IntegerField()
    measure_words = serializers.CharField()
    rows = serializers.ListField(
        child=serializers.DictField(),
        help_text="the rows behind the measure; for patches: device, patch, severity, "
        "released, due, installed, days, on_time (late ones first)",
    )


class MeasuredOccurrenceFilter(IdFilterSet):
    client = filters.CharFilter(
        field_name="commitment__contract__client__slug", help_text="the client's slug"
    )
    kind = filters.ChoiceFilter(field_name="commitment__measured_by", choices=KIND_CHOICES)

    class Meta:
        model = CommitmentOccurrence
        fields = ["commitment"]


class ToolReportColumnsSerializer(serializers.ModelSerializer):
    client = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, help_text="null: the MSP's own, for all its clients"
    )
    msp = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    kind_words = serializers.SerializerMethodField(help_text="the kind of report, in words")

    class Meta:
        model = ToolReportMapping
        fields = ["id", "msp", "client", "kind", "kind_words", "name", "preset", "mapping"]
        read_only_fields = fields

    def get_kind_words(self, saved: ToolReportMapping) -> str:
        return _kind_words(saved.kind)


class ToolReportColumnsFilter(IdFilterSet):
    kind = filters.ChoiceFilter(choices=KIND_CHOICES)

    class Meta:
        model = ToolReportMapping
        fields = ["kind"]


class ToolReportColumnsViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The saved columns the caller's uploads may use (saved on the upload form): an MSP's own
    for all its clients, and a client's own; for those who import tool reports only."""

    serializer_class = ToolReportColumnsSerializer
    filterset_class = ToolReportColumnsFilter

    def get_queryset(self):
        user = self.request.user
        scope = Q(pk__in=[])
        for contract in visible_contracts(user).select_related("client", "msp"):
            if contract_access(user, contract).can(Action.IMPORT_TICKETS):
                scope |= usable_by(contract)
        return (
            ToolReportMapping.objects.filter(scope)
            .select_related("msp", "client")
            .order_by("kind", "name", "id")
        )


class MeasuredOccurrenceViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Occurrences of the caller's commitments measured from tool reports, oldest period
    first, each kept or missed by its stored measure."""

    serializer_class = MeasuredOccurrenceSerializer
    filterset_class = MeasuredOccurrenceFilter

    def get_queryset(self):
        return (
            CommitmentOccurrence.objects.filter(
                commitment__contract__in=visible_contracts(self.request.user)
            )
            .exclude(commitment__measured_by="")
            .select_related("commitment__contract__client")
            .order_by("commitment__contract_id", "commitment__name", "period_start", "id")
        )

    @extend_schema(responses=MeasuredRowsSerializer)
    @action(detail=True, methods=["get"])
    def rows(self, request, pk=None):
        """The rows behind the occurrence's measure (404 for a kind with none yet)."""
        occ = self.get_object()
        kind = KINDS.get(occ.commitment.measured_by)
        if kind is None or kind.rows is None:
            raise Http404("No rows for this kind yet.")
        return Response(
            {
                "occurrence": occ.pk,
                "measure_words": kind.words(occ.measure),
                "rows": kind.rows(occ),
            }
        )
