"""Disputes through the API: the disputes of the caller's contracts (another MSP's never), opened
by the client side, accepted or rejected by the MSP side, withdrawn by the opener's side. The
same services as the pages; a role that may not gets 403, an id the caller cannot see 404."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from contracts.models import CommitmentOccurrence
from kpis.models import Ticket
from msp_portal.api import IdFilterSet
from msp_portal.tenancy import Action, contract_access, visible_clients, visible_contracts

from .models import Dispute
from .selectors import UNSETTLED, is_overdue, may_withdraw, ticket_contract, visible_disputes
from .services import (
    REASON_MAX,
    dispute_answer,
    dispute_open,
    dispute_withdraw,
    disputes_settle_overdue,
)

BIGGEST_ID = 2**63 - 1


class DisputeFilter(IdFilterSet):
    client = filters.CharFilter(field_name="client__slug", help_text="the client's slug")
    status = filters.ChoiceFilter(choices=Dispute.Status.choices)
    subject = filters.ChoiceFilter(choices=Dispute.Subject.choices)

    class Meta:
        model = Dispute
        fields = ["contract", "ticket"]


class DisputeSerializer(serializers.ModelSerializer):
    client = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    opened_by = serializers.StringRelatedField(allow_null=True)
    answered_by = serializers.StringRelatedField(allow_null=True)
    overdue = serializers.SerializerMethodField(
        help_text="open and past the end of the MSP side's window"
    )

    class Meta:
        model = Dispute
        fields = [
            "id",
            "client",
            "contract",
            "subject",
            "ticket",
            "ticket_label",
            "occurrence",
            "requested",
            "measured",
            "reason",
            "opened_by",
            "opened_at",
            "due_at",
            "overdue",
            "status",
            "answer_reason",
            "answered_by",
            "answered_at",
            "settled_by_rule",
        ]

    def get_overdue(self, dispute: Dispute) -> bool:
        return is_overdue(dispute)


class DisputeOpenSerializer(serializers.Serializer):
    subject = serializers.ChoiceField(choices=Dispute.Subject.choices)
    ticket = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=BIGGEST_ID, help_text="a ticket id"
    )
    occurrence = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=BIGGEST_ID,
        help_text="a commitment occurrence id (subject occurrence)",
    )
    requested = serializers.DictField(
        help_text='what is asked instead: {"clock": "resolution", "verdict": "met"}, '
        '{"start": ISO, "end": ISO} or {"exported_total": true}, {"priority": "P2"}, '
        '{"counted": true}, {"status": "kept"} (docs/disputes.md)'
    )
    reason = serializers.CharField(max_length=REASON_MAX)


class DisputeAnswerSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=REASON_MAX)


def _refused(error: DjangoValidationError) -> ValidationError:
    return ValidationError(
        error.message_dict if hasattr(error, "error_dict") else {"detail": error.messages}
    )


class DisputeViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Disputes of the contracts the caller is party to. Overdue ones follow their contract's
    rule before they are listed."""

    serializer_class = DisputeSerializer
    filterset_class = DisputeFilter

    def get_queryset(self):
        return (
            visible_disputes(self.request.user)
            .select_related("client", "opened_by", "answered_by")
            .order_by("-opened_at", "-id")
        )

    def list(self, request, *args, **kwargs):
        disputes_settle_overdue(within=visible_disputes(request.user), source="api")
        return super().list(request, *args, **kwargs)

    def _target(self, data: dict):
        """(contract, ticket, occurrence) the request names, among what the caller may see."""
        user = self.request.user
        if data["subject"] == Dispute.Subject.OCCURRENCE:
            occurrence = (
                CommitmentOccurrence.objects.filter(
                    pk=data.get("occurrence") or 0,
                    commitment__contract__in=visible_contracts(user),
                )
                .select_related("commitment__contract__client", "commitment__contract__msp")
                .first()
            )
            if occurrence is None:
                raise ValidationError({"occurrence": ["no such commitment occurrence"]})
            return occurrence.commitment.contract, None, occurrence
        ticket = (
            Ticket.objects.filter(pk=data.get("ticket") or 0, client__in=visible_clients(user))
            .select_related("clock", "import_job", "client")
            .first()
        )
        if ticket is None:
            raise ValidationError({"ticket": ["no such ticket"]})
        return ticket_contract(user, ticket.client, ticket), ticket, None

    @extend_schema(request=DisputeOpenSerializer, responses={201: DisputeSerializer})
    def create(self, request, *args, **kwargs):
        """Open a dispute (the client's admins, or its advisory firm): 201 with the dispute."""
        payload = DisputeOpenSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        contract, ticket, occurrence = self._target(data)
        if not contract_access(request.user, contract).can(Action.OPEN_DISPUTE):
            raise PermissionDenied("Your role on this contract does not allow opening a dispute.")
        try:
            dispute = dispute_open(
                contract=contract,
                actor=request.user,
                subject=data["subject"],
                requested=data["requested"],
                reason=data["reason"],
                ticket=ticket,
                occurrence=occurrence,
                source="api",
            )
        except DjangoValidationError as error:
            raise _refused(error) from None
        return Response(DisputeSerializer(dispute).data, status=status.HTTP_201_CREATED)

    def _answer(self, request, accept: bool):
        dispute = self.get_object()
        if not contract_access(request.user, dispute.contract).can(Action.ANSWER_DISPUTE):
            raise PermissionDenied("Only the MSP side answers a dispute.")
        payload = DisputeAnswerSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            dispute_answer(
                dispute=dispute,
                actor=request.user,
                accept=accept,
                reason=payload.validated_data["reason"],
                source="api",
            )
        except DjangoValidationError as error:
            raise _refused(error) from None
        return Response(DisputeSerializer(dispute).data)

    @extend_schema(request=DisputeAnswerSerializer, responses=DisputeSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        """Accept (the MSP side): the agreed figures apply the dispute."""
        return self._answer(request, accept=True)

    @extend_schema(request=DisputeAnswerSerializer, responses=DisputeSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Reject (the MSP side), with the reason."""
        return self._answer(request, accept=False)

    @extend_schema(request=None, responses=DisputeSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """Withdraw an open dispute (the side that opened it)."""
        dispute = self.get_object()
        access = contract_access(request.user, dispute.contract)
        if not may_withdraw(request.user, access, dispute):
            if dispute.status not in UNSETTLED and access.can(Action.OPEN_DISPUTE):
                raise ValidationError(
                    {"status": [f"this dispute is already {dispute.get_status_display().lower()}"]}
                )
            raise PermissionDenied("Only the side that opened a dispute withdraws it.")
        try:
            dispute_withdraw(dispute=dispute, actor=request.user, source="api")
        except DjangoValidationError as error:
            raise _refused(error) from None
        return Response(DisputeSerializer(dispute).data)
