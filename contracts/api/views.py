"""API endpoints. Every queryset starts from what tenancy lets the caller see; writes check the
caller's role on the object's contract and then call a service."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from contracts.contract_file import ContractFileError, contract_file_parse
from contracts.models import (
    AuditEvent,
    Commitment,
    CommitmentOccurrence,
    Contract,
    Evidence,
    Membership,
    Organisation,
    ResponsibilityMatrixVersion,
    SlaPolicyVersion,
)
from contracts.services.agreement import version_approve, version_withdraw
from contracts.services.commitments import evidence_add, occurrence_complete
from contracts.services.contract_apply import contract_apply
from contracts.services.matrix import matrix_version_gaps
from msp_portal.downloads import stored_file_download
from msp_portal.tenancy import (
    WRITE_ROLES,
    Action,
    contract_access,
    may_record_commitment,
    user_organisations,
    visible_clients,
    visible_contracts,
    writing_organisations,
)

from . import serializers as s


def _require(user, contract: Contract, action_: Action) -> None:
    if not contract_access(user, contract).can(action_):
        raise PermissionDenied(f"Your role on this contract does not allow this ({action_.value}).")


def _require_recorder(user, occurrence) -> None:
    """Only the side that owns a commitment records it (msp_portal.tenancy.commitment_sides)."""
    access = contract_access(user, occurrence.commitment.contract)
    if not may_record_commitment(access, occurrence.commitment.owner):
        raise PermissionDenied("Your side does not record this commitment; it may confirm it.")


class ScopedViewSet(viewsets.GenericViewSet):
    """Read-only list and detail over objects of the contracts the caller is party to."""

    contract_path = "contract"

    def scoped(self, queryset):
        return queryset.filter(
            **{f"{self.contract_path}__in": visible_contracts(self.request.user)}
        )


class OrganisationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Organisations the caller belongs to, and the clients they can see."""

    serializer_class = s.OrganisationSerializer
    filterset_fields = ["kind", "slug"]

    def get_queryset(self):
        user = self.request.user
        return Organisation.objects.filter(
            Q(pk__in=user_organisations(user).values("pk"))
            | Q(pk__in=visible_clients(user).values("pk"))
        ).order_by("name")


class ContractViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Contracts the caller is party to (as client, MSP or advisor)."""

    serializer_class = s.ContractSerializer
    filterset_fields = {"client__slug": ["exact"], "msp__slug": ["exact"]}

    def get_queryset(self):
        return visible_contracts(self.request.user).select_related("client", "msp", "advisor")


class AgreementActions:
    """Approve (one side at a time) and withdraw a proposed version of the rules."""

    def _decide(self, request, act):
        version = self.get_object()
        try:
            version = act(version)
        except DjangoValidationError as exc:
            raise ValidationError({"detail": exc.messages}) from None
        return Response(self.get_serializer(self.get_queryset().get(pk=version.pk)).data)

    def _approve(self, request):
        payload = s.MatrixApproveSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        side = payload.validated_data["side"]

        def act(version):
            _require(
                request.user,
                version.contract,
                Action.APPROVE_MATRIX_CLIENT if side == "client" else Action.APPROVE_MATRIX_MSP,
            )
            return version_approve(version=version, side=side, actor=request.user, source="api")

        return self._decide(request, act)

    def _withdraw(self, request):
        payload = s.WithdrawSerializer(data=request.data)
        payload.is_valid(raise_exception=True)

        def act(version):
            _require(request.user, version.contract, Action.EDIT_CONTRACT)
            return version_withdraw(
                version=version,
                actor=request.user,
                source="api",
                reason=payload.validated_data.get("reason", ""),
            )

        return self._decide(request, act)


class SlaPolicyVersionViewSet(
    AgreementActions, mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet
):
    """SLA policy versions with their calendars, targets per priority and uptime targets, and
    where each stands: proposed, agreed by both sides, withdrawn, or replaced by a correction.
    Only agreed versions decide verdicts, from their effective date on."""

    serializer_class = s.SlaPolicyVersionSerializer
    filterset_fields = ["contract"]

    def get_queryset(self):
        return (
            self.scoped(SlaPolicyVersion.objects.all())
            .select_related("created_by", "client_approved_by", "msp_approved_by", "withdrawn_by")
            .prefetch_related("calendars", "targets__calendar", "uptime_targets")
            .order_by("contract", "-effective_from", "-id")
        )

    @extend_schema(request=s.MatrixApproveSerializer, responses=s.SlaPolicyVersionSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """One side's approval; refused for a version that would change verdicts already given
        (unless it is a correction)."""
        return self._approve(request)

    @extend_schema(request=s.WithdrawSerializer, responses=s.SlaPolicyVersionSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """Withdraw a proposal still waiting for approval (kept as history)."""
        return self._withdraw(request)


class MatrixVersionViewSet(
    AgreementActions, mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet
):
    """Responsibility-matrix versions with their assignments, computed gaps and where each
    stands; a version with gaps cannot be approved."""

    serializer_class = s.MatrixVersionSerializer
    filterset_fields = ["contract"]

    def get_queryset(self):
        return (
            self.scoped(ResponsibilityMatrixVersion.objects.all())
            .select_related(
                "created_by", "client_approved_by", "msp_approved_by", "withdrawn_by", "contract"
            )
            .prefetch_related("assignments")
            .order_by("contract", "-number")
        )

    def get_serializer(self, *args, **kwargs):
        # Gaps are computed, not stored: attach them to each version before serializing.
        instance = args[0] if args else kwargs.get("instance")
        items = instance if isinstance(instance, list | tuple) else [instance] if instance else []
        for version in items:
            if isinstance(version, ResponsibilityMatrixVersion):
                version.gaps = matrix_version_gaps(version)
        return super().get_serializer(*args, **kwargs)

    @extend_schema(request=s.MatrixApproveSerializer, responses=s.MatrixVersionSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """One side's approval; refused while the version has gaps."""
        return self._approve(request)

    @extend_schema(request=s.WithdrawSerializer, responses=s.MatrixVersionSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """Withdraw a proposal still waiting for approval (kept as history)."""
        return self._withdraw(request)


class CommitmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Recurring commitments of the caller's contracts."""

    serializer_class = s.CommitmentSerializer
    filterset_fields = ["contract", "is_active"]

    def get_queryset(self):
        return self.scoped(Commitment.objects.all()).order_by("contract", "name")


class OccurrenceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Dated occurrences of commitments; record completion and upload evidence."""

    serializer_class = s.OccurrenceSerializer
    contract_path = "commitment__contract"
    filterset_fields = ["commitment", "commitment__contract"]

    def get_queryset(self):
        return (
            self.scoped(CommitmentOccurrence.objects.all())
            .select_related("commitment__contract")
            .prefetch_related("evidence")
            .order_by("commitment", "-period_start")
        )

    @extend_schema(request=s.OccurrenceCompleteSerializer, responses=s.OccurrenceSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        occurrence = self.get_object()
        _require_recorder(request.user, occurrence)
        payload = s.OccurrenceCompleteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            occurrence_complete(
                occurrence=occurrence, actor=request.user, source="api", **payload.validated_data
            )
        except DjangoValidationError as exc:
            raise ValidationError(
                exc.message_dict if hasattr(exc, "message_dict") else exc.messages
            ) from None
        return Response(self.get_serializer(occurrence).data)

    @extend_schema(
        request={"multipart/form-data": s.EvidenceUploadSerializer},
        responses={201: s.EvidenceSerializer},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def evidence(self, request, pk=None):
        occurrence = self.get_object()
        _require_recorder(request.user, occurrence)
        payload = s.EvidenceUploadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            item = evidence_add(
                occurrence=occurrence,
                upload=payload.validated_data["file"],
                actor=request.user,
                source="api",
            )
        except DjangoValidationError as exc:
            raise ValidationError({"file": exc.messages}) from None
        return Response(s.EvidenceSerializer(item).data, status=status.HTTP_201_CREATED)


class EvidenceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Evidence files (metadata); `download` returns the file itself."""

    serializer_class = s.EvidenceSerializer
    contract_path = "occurrence__commitment__contract"
    filterset_fields = ["occurrence"]

    def get_queryset(self):
        return self.scoped(Evidence.objects.all()).order_by("-uploaded_at")

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(description="The evidence file")
        }
    )
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        item = self.get_object()
        return stored_file_download(item.file, item.original_name, item.content_type)


class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The audit trail of the caller's contracts."""

    serializer_class = s.AuditEventSerializer
    filterset_fields = ["contract", "action", "kind"]

    def get_queryset(self):
        return self.scoped(AuditEvent.objects.all()).select_related("actor")


class ContractFileView(APIView):
    """Apply a contract file (the `apply_contract` format, as JSON): creates or updates the
    contract and commitments; a changed SLA or matrix becomes a proposed version that decides
    verdicts once both sides approve it (`.../approve/`). Idempotent."""

    @extend_schema(
        request=s.ContractFileSerializer, responses={200: s.ContractFileResultSerializer}
    )
    def post(self, request):
        payload = s.ContractFileSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            data = contract_file_parse(
                json.dumps(payload.validated_data["document"], default=str),
                filename="document.json",
            )
        except ContractFileError as exc:
            raise ValidationError({"document": exc.problems}) from None
        self._authorise(request.user, data)
        try:
            fields = payload.validated_data
            result = contract_apply(
                data=data,
                actor=request.user,
                source="api",
                reason=fields.get("reason", ""),
                correction=fields.get("correction", ""),
                matrix_correction=fields.get("correction", ""),
                matrix_effective_from=fields.get("matrix_effective_from"),
            )
        except ContractFileError as exc:
            raise ValidationError({"document": exc.problems}) from None
        body = {"contract": result.contract.pk, "changes": result.changes}
        return Response(s.ContractFileResultSerializer(body).data)

    @staticmethod
    def _authorise(user, data) -> None:
        """Only staff of the file's MSP or advisory firm apply it, and the file may touch only
        organisations the caller already writes for (msp_portal.tenancy.writing_organisations)
        or creates. Another tenant's organisation is answered as unknown, whatever its kind, so
        nothing about it is confirmed. The management command (an operator's) has no such limit.
        """
        write_orgs = set(
            Membership.objects.filter(user=user, role__in=WRITE_ROLES).values_list(
                "organisation__slug", flat=True
            )
        )
        parties = {data.msp.slug} | ({data.advisor.slug} if data.advisor else set())
        if not write_orgs & parties:
            raise PermissionDenied(
                "Only members of the contract's MSP or advisory firm may apply a contract file."
            )
        refs = {"client": data.client, "msp": data.msp}
        if data.advisor:
            refs["advisor"] = data.advisor
        named = Organisation.objects.in_bulk([ref.slug for ref in refs.values()], field_name="slug")
        writable = writing_organisations(user)
        existing = Contract.objects.filter(
            client__slug=data.client.slug, msp__slug=data.msp.slug, name=data.contract.name
        ).first()
        # The parties already on a contract the caller may edit may be named again unchanged
        # (MSP staff re-applying their file name the client's advisor).
        parties_kept = set()
        if existing is not None and contract_access(user, existing).can(Action.EDIT_CONTRACT):
            parties_kept = {existing.msp_id, existing.advisor_id}
        problems = []
        for path, ref in refs.items():
            org = named.get(ref.slug)
            if org is None:
                continue  # a new organisation: created by the file
            if org.pk not in writable and org.pk not in parties_kept:
                problems.append(f"{path}.slug: unknown {_KIND_WORDS[path]}")
            elif org.pk not in writable and org.name != ref.name:
                problems.append(
                    f"{path}.name: '{ref.name}' is not the organisation's name "
                    f"('{org.name}'); only its own members may rename it"
                )
        if problems:
            raise ValidationError({"document": problems})
        if existing is not None:
            _require(user, existing, Action.EDIT_CONTRACT)


# How a refused slug is answered, by where it stands in the file (never by what it really is).
_KIND_WORDS = {"client": "client", "msp": "MSP", "advisor": "advisory firm"}
