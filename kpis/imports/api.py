"""Import endpoints: upload an export (multipart), push a JSON batch, follow and read imports."""

from __future__ import annotations

import io

import polars as pl
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from contracts.models import Organisation
from kpis.imports.ingest.mapping import MappingError
from kpis.imports.ingest.presets import DATE_ORDERS, EVENT_FIELDS, PRESETS, TICKET_FIELDS
from kpis.imports.ingest.read import UnusableFile
from kpis.imports.jobs import import_requeue_if_lost, progress_get
from kpis.imports.overlap import overlap_refuse, overlap_words
from kpis.imports.services import (
    import_confirm,
    import_create,
    import_overlap_precheck,
    import_reject,
    mapping_prepare,
)
from kpis.models import ImportJob, ImportProblem
from msp_portal.tenancy import importable_clients, visible_imports

BATCH_MAX_TICKETS = 10_000

ON_OVERLAP_HELP = (
    "when the tickets look like tickets already imported from another source: 'import' them "
    "anyway, or 'replace' that source's tickets for the overlapping dates; without it such an "
    "import is answered 409 with what overlaps, and nothing is stored"
)
OVERLAP_409 = OpenApiResponse(
    description="the tickets overlap another source's: nothing stored; the body names the "
    "import, its source and dates (overlap) and how to resend with on_overlap"
)


class OverlapConflict(APIException):
    """409: the import's tickets overlap another source's; nothing was stored."""

    status_code = 409
    default_code = "overlap"

    def __init__(self, job: ImportJob, facts: dict):
        super().__init__()
        self.detail = {  # type: ignore[assignment]  # numbers stay numbers
            "detail": overlap_words(facts),
            "import": job.pk,
            "overlap": facts,
            "choices": {
                "import": "import these tickets anyway, beside the other source's",
                "replace": "delete the other source's tickets in the overlapping dates, "
                "then import these",
            },
            "resend": "Send the same request again with on_overlap set to 'import' or "
            "'replace'; without it, nothing is imported.",
        }


class ImportProblemSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportProblem
        fields = ["row", "column", "value", "reason", "severity"]


class ImportJobSerializer(serializers.ModelSerializer):
    client = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    msp = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    progress = serializers.SerializerMethodField()
    # Plain text, not the model's choices: one enum for on_overlap in the schema, the requests'.
    on_overlap = serializers.CharField(read_only=True)

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "msp",
            "client",
            "via",
            "original_name",
            "size",
            "sha256",
            "preset",
            "mapping_name",
            "status",
            "phase",
            "rows_total",
            "rows_done",
            "created",
            "updated",
            "unchanged",
            "rejected",
            "warnings",
            "message",
            "on_overlap",
            "overlap",
            "undone_at",
            "created_at",
            "started_at",
            "finished_at",
            "progress",
        ]

    def get_progress(self, job) -> dict:
        return progress_get(job)


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    client = serializers.SlugField(help_text="slug of the client these tickets belong to")
    preset = serializers.ChoiceField(choices=sorted(PRESETS), required=False)
    mapping = serializers.JSONField(
        binary=True, required=False, help_text="a mapping as the web step saves (JSON text)"
    )
    timezone = serializers.CharField(required=False)
    date_order = serializers.ChoiceField(choices=DATE_ORDERS, required=False)
    on_overlap = serializers.ChoiceField(
        choices=["import", "replace"], required=False, help_text=ON_OVERLAP_HELP
    )


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            name: {"type": "string", "nullable": True, "description": label}
            for name, label in (TICKET_FIELDS | EVENT_FIELDS).items()
        },
        "additionalProperties": False,
    }
)
class BatchTicketField(serializers.DictField):
    """One ticket of a batch: the import mapping's field names (any other is a 400)."""


class TicketBatchSerializer(serializers.Serializer):
    client = serializers.SlugField()
    source_name = serializers.CharField(max_length=100, default="api-batch")
    tickets = serializers.ListField(
        child=BatchTicketField(), min_length=1, max_length=BATCH_MAX_TICKETS
    )
    on_overlap = serializers.ChoiceField(
        choices=["import", "replace"], required=False, help_text=ON_OVERLAP_HELP
    )


def _client_and_msp(user, slug: str) -> tuple[Organisation, Organisation]:
    for client, msp in importable_clients(user):
        if client.slug == slug:
            return client, msp
    # Same answer whether the client exists or not: nothing is confirmed to an outsider.
    raise ValidationError({"client": ["no client you may import tickets for has this slug"]})


def _map_and_queue(job: ImportJob, user, on_overlap: str = "", **mapping_options) -> ImportJob:
    """Map the upload as told (or by its preset) and queue it; a file that cannot be imported is
    rejected on its job (kept, with its file) and answered with 400 naming the problem; one
    whose tickets overlap another source's, with no choice made, is answered 409."""
    try:
        mapping = mapping_prepare(job, **mapping_options)
    except (UnusableFile, MappingError) as error:
        import_reject(job, error)
        raise ValidationError({"file": [str(error)]}) from None
    job.on_overlap = on_overlap
    if not on_overlap:
        facts = import_overlap_precheck(job, mapping)
        if facts:
            overlap_refuse(job, facts)
            raise OverlapConflict(job, facts)
    return import_confirm(job, mapping=mapping, user=user)


class ImportUploadView(APIView):
    """Upload a PSA export for one client; it is imported by a worker (202, then poll)."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request=ImportUploadSerializer, responses={202: ImportJobSerializer, 409: OVERLAP_409}
    )
    def post(self, request):
        payload = ImportUploadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        client, msp = _client_and_msp(request.user, data["client"])
        upload = data["file"]
        job = import_create(
            msp=msp,
            client=client,
            user=request.user,
            via=ImportJob.Via.API,
            name=upload.name,
            content=upload,  # on disk (kpis/imports/upload_limit.py)
        )
        job = _map_and_queue(
            job,
            request.user,
            preset=data.get("preset"),
            mapping_json=data.get("mapping"),
            timezone_name=data.get("timezone"),
            date_order=data.get("date_order"),
            on_overlap=data.get("on_overlap", ""),
        )
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class TicketBatchView(APIView):
    """Push normalised tickets as JSON (field names as in the import mapping, times in ISO 8601);
    they go through the same checks and upsert as a file import."""

    parser_classes = [JSONParser]

    @extend_schema(
        request=TicketBatchSerializer, responses={202: ImportJobSerializer, 409: OVERLAP_409}
    )
    def post(self, request):
        payload = TicketBatchSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        client, msp = _client_and_msp(request.user, data["client"])
        fields = set(TICKET_FIELDS) | set(EVENT_FIELDS)
        unknown = sorted({k for t in data["tickets"] for k in t} - fields)
        if unknown:
            raise ValidationError({"tickets": [f"unknown field '{unknown[0]}'"]})
        columns = [f for f in TICKET_FIELDS if any(f in t for t in data["tickets"])]
        frame = pl.DataFrame(
            {c: [None if t.get(c) is None else str(t[c]) for t in data["tickets"]] for c in columns}
        )
        buffer = io.BytesIO()
        frame.write_csv(buffer)
        mapping_json = {
            "preset": "generic",
            "columns": {c: c for c in columns},
            "timezone": "UTC",
            "date_order": "ymd",
        }
        job = import_create(
            msp=msp,
            client=client,
            user=request.user,
            via=ImportJob.Via.API,
            name=f"{data['source_name']}.csv",
            content=buffer.getvalue(),
        )
        job = _map_and_queue(
            job, request.user, on_overlap=data.get("on_overlap", ""), mapping_json=mapping_json
        )
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ImportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Imports the caller may see, with live progress and counts."""

    serializer_class = ImportJobSerializer

    def get_queryset(self):
        return visible_imports(self.request.user).select_related("msp", "client")

    def retrieve(self, request, *args, **kwargs):
        # A poll of an import queued while the broker was down hands it over once it is back.
        job = import_requeue_if_lost(self.get_object())
        return Response(self.get_serializer(job).data)

    @extend_schema(responses={200: ImportProblemSerializer(many=True)})
    @action(detail=True)
    def problems(self, request, pk=None):
        job = self.get_object()
        page = self.paginate_queryset(job.problems.all())
        return self.get_paginated_response(ImportProblemSerializer(page, many=True).data)
