"""API representations of the contract domain. Writes go through services, never serializer.save."""

from rest_framework import serializers

from contracts.models import (
    AuditEvent,
    Calendar,
    Commitment,
    CommitmentOccurrence,
    Contract,
    Evidence,
    Organisation,
    ResponsibilityAssignment,
    ResponsibilityMatrixVersion,
    SlaPolicyVersion,
    SlaTarget,
    UptimeTarget,
)
from contracts.models.agreement import AgreementState


class OrganisationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "slug", "name", "kind"]


class ContractSerializer(serializers.ModelSerializer):
    client = OrganisationSerializer(read_only=True)
    msp = OrganisationSerializer(read_only=True)
    advisor = OrganisationSerializer(read_only=True, allow_null=True)
    monthly_fee = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)

    class Meta:
        model = Contract
        fields = [
            "id",
            "name",
            "client",
            "msp",
            "advisor",
            "starts",
            "ends",
            "timezone",
            "pricing_model",
            "unit_price",
            "flat_monthly_fee",
            "currency",
            "seats_users",
            "seats_devices",
            "monthly_fee",
            "in_scope",
            "exclusions",
            "credit_measure",
            "credit_period",
            "credit_tiers",
            "credit_cap_percent",
            "dispute_window_days",
            "dispute_unanswered",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CalendarSerializer(serializers.ModelSerializer):
    class Meta:
        model = Calendar
        fields = [
            "id",
            "key",
            "is_24x7",
            "timezone",
            "weekly_hours",
            "holiday_country",
            "holiday_subdivision",
            "extra_holidays",
        ]


class SlaTargetSerializer(serializers.ModelSerializer):
    calendar = serializers.SlugRelatedField(slug_field="key", read_only=True)

    class Meta:
        model = SlaTarget
        fields = ["priority", "response_minutes", "resolution_minutes", "calendar"]


class UptimeTargetSerializer(serializers.ModelSerializer):
    class Meta:
        model = UptimeTarget
        fields = ["service", "target"]


class AgreementFields(serializers.ModelSerializer):
    """Where a version stands between the two sides (contracts/models/agreement.py)."""

    state = serializers.ChoiceField(choices=AgreementState.choices, read_only=True)
    created_by = serializers.StringRelatedField(allow_null=True)
    client_approved_by = serializers.StringRelatedField(allow_null=True)
    msp_approved_by = serializers.StringRelatedField(allow_null=True)
    withdrawn_by = serializers.StringRelatedField(allow_null=True)
    changes_results = serializers.JSONField(
        read_only=True,
        help_text="a correction: the tickets it measures again, by month of creation, e.g. "
        '{"tickets": 12, "months": {"2026-03": 7, "2026-04": 5}}; empty otherwise',
    )

    AGREEMENT = [
        "state",
        "effective_from",
        "reason",
        "is_correction",
        "changes_results",
        "created_by",
        "created_at",
        "client_approved_by",
        "client_approved_at",
        "msp_approved_by",
        "msp_approved_at",
        "withdrawn_by",
        "withdrawn_at",
        "superseded_at",
    ]


class SlaPolicyVersionSerializer(AgreementFields):
    calendars = CalendarSerializer(many=True, read_only=True)
    targets = SlaTargetSerializer(many=True, read_only=True)
    uptime_targets = UptimeTargetSerializer(many=True, read_only=True)

    class Meta:
        model = SlaPolicyVersion
        fields = [
            "id",
            "contract",
            *AgreementFields.AGREEMENT,
            "pause_states",
            "repeat_window_days",
            "calendars",
            "targets",
            "uptime_targets",
        ]


class AssignmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = ResponsibilityAssignment
        fields = ["area", "owner", "split", "categories"]


class GapSerializer(serializers.Serializer):
    kind = serializers.CharField()
    area = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class MatrixVersionSerializer(AgreementFields):
    assignments = AssignmentSerializer(many=True, read_only=True)
    gaps = GapSerializer(many=True, read_only=True)

    class Meta:
        model = ResponsibilityMatrixVersion
        fields = ["id", "contract", "number", *AgreementFields.AGREEMENT, "assignments", "gaps"]


class MatrixApproveSerializer(serializers.Serializer):
    side = serializers.ChoiceField(choices=["client", "msp"])


class WithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class CommitmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Commitment
        fields = [
            "id",
            "contract",
            "name",
            "cadence",
            "owner",
            "evidence_required",
            "is_active",
            # Measured from the MSP's tool reports (docs/evidence.md); blank: recorded by hand.
            "measured_by",
            "within_days",
            "severities",
            "target_percent",
            "limit_percent",
            # Each missed occurrence credits this share of the monthly fee (docs/kpis.md).
            "credit_percent",
        ]


class EvidenceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Evidence
        fields = [
            "id",
            "occurrence",
            "original_name",
            "content_type",
            "size",
            "sha256",
            "uploaded_by",
            "uploaded_at",
        ]


class OccurrenceSerializer(serializers.ModelSerializer):
    commitment = serializers.PrimaryKeyRelatedField(read_only=True)
    evidence = EvidenceSerializer(many=True, read_only=True)

    class Meta:
        model = CommitmentOccurrence
        fields = [
            "id",
            "commitment",
            "period_start",
            "due_date",
            "completed_on",
            "note",
            "evidence",
            # A measured commitment's figures for the period, from the imported reports.
            "measure",
        ]


class OccurrenceCompleteSerializer(serializers.Serializer):
    completed_on = serializers.DateField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class EvidenceUploadSerializer(serializers.Serializer):
    file = serializers.FileField()


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.StringRelatedField(allow_null=True)  # null: the system, a command

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "at",
            "actor",
            "source",
            "contract",
            "action",
            "kind",
            "object_type",
            "object_id",
            "object_repr",
            "changes",
        ]


class ContractFileSerializer(serializers.Serializer):
    """A contract file (the apply_contract format) as a JSON object."""

    document = serializers.JSONField(
        help_text="The contract file: client, msp, contract, "
        "calendars, sla, responsibilities, commitments"
    )
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="why the rules change: shown to the side that approves the proposal",
    )
    correction = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="the error in agreed terms this file corrects: new versions may then change "
        "verdicts already given (they say which), once both sides approve them",
    )
    matrix_effective_from = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="the date a new matrix version takes effect (default: the contract's start "
        "while no ticket has been judged, else today)",
    )


class ContractFileResultSerializer(serializers.Serializer):
    contract = serializers.IntegerField()
    changes = serializers.ListField(child=serializers.CharField())
