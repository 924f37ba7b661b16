"""What the read API answers: KPI snapshots with the figures `kpi_report` prints, tickets with
their clocks and verdicts, outages. Read-only: every field is computed or stored elsewhere."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kpis.metrics.registry import KPIS, values_in_order
from kpis.models import KpiSnapshot, Outage, Ticket, TicketClock, TicketEvent

# One property per KPI key, each described by its label: the figures' keys are part of the
# contract with an integrator (docs/kpis.md); their values are numbers, objects or null.
FIGURES_SCHEMA = {
    "type": "object",
    "description": "Every KPI of the period by its key (docs/kpis.md), exactly as "
    "`kpi_report --format json` prints it; null where the period has no value.",
    "properties": {kpi.key: {"description": kpi.label, "nullable": True} for kpi in KPIS},
    "required": [kpi.key for kpi in KPIS],
}


class KpiSnapshotSerializer(serializers.ModelSerializer):
    client = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    period = serializers.CharField(source="period_label", read_only=True)
    stale = serializers.BooleanField(
        read_only=True,
        help_text="an import changed the period's tickets since these figures were computed; "
        "a recompute is queued and the figures are replaced when it has run",
    )
    figures = serializers.SerializerMethodField()
    rules_used = serializers.JSONField(
        read_only=True,
        help_text='the agreed versions its tickets were judged under: {"sla": [SLA policy '
        'version ids], "matrix": [responsibility-matrix version ids]}',
    )

    class Meta:
        model = KpiSnapshot
        fields = ["id", "client", "period", "period_kind", "period_start", "computed_at", "stale"]
        fields += ["figures", "agreed_figures", "rules_used"]

    agreed_figures = serializers.SerializerMethodField(
        help_text="the figures as agreed: the measured ones changed by accepted disputes "
        "(docs/disputes.md), the service credits computed on them; the same as `figures` "
        "where no accepted dispute moved a figure of the period"
    )

    @extend_schema_field(FIGURES_SCHEMA)
    def get_figures(self, snapshot: KpiSnapshot) -> dict:
        return values_in_order(snapshot.values)

    @extend_schema_field(FIGURES_SCHEMA)
    def get_agreed_figures(self, snapshot: KpiSnapshot) -> dict:
        return values_in_order((snapshot.agreed or {}).get("values") or snapshot.values)


class TicketClockSerializer(serializers.ModelSerializer):
    policy_version = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text="the SLA policy version the clock measured against",
    )

    matrix_version = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text="the agreed responsibility-matrix version in force at the ticket's creation",
    )

    class Meta:
        model = TicketClock
        fields = [
            "response_seconds",
            "resolution_seconds",
            "response_target_seconds",
            "resolution_target_seconds",
            "response_verdict",
            "resolution_verdict",
            "no_verdict_reason",
            "policy_version",
            "matrix_version",
            "resolution_breached_at",
            "computed_at",
        ]
        extra_kwargs = {
            "response_seconds": {"help_text": "business seconds to the first response"},
            "resolution_seconds": {"help_text": "business seconds to resolution, pauses off"},
            "response_verdict": {"help_text": "met, breached, pending, or empty: no verdict"},
            "resolution_verdict": {"help_text": "met, breached, pending, or empty: no verdict"},
            "resolution_breached_at": {
                "help_text": "when the resolution clock passed its target (breached only): "
                "the period a breach counts in"
            },
        }


class TicketSerializer(serializers.ModelSerializer):
    client = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    clock = TicketClockSerializer(
        read_only=True, allow_null=True, help_text="null until the ticket's clocks are computed"
    )

    class Meta:
        model = Ticket
        fields = [
            "id",
            "client",
            "source_system",
            "external_id",
            "title",
            "kind",
            "priority",
            "state",
            "origin",
            "category",
            "subcategory",
            "configuration_item",
            "created_at",
            "first_response_at",
            "resolved_at",
            "closed_at",
            "tier",
            "reassignment_count",
            "reopen_count",
            "paused_minutes",
            "exclude_from_sla",
            "reported_response_met",
            "reported_resolution_met",
            "reported_response_raw",
            "reported_resolution_raw",
            "updated_at",
            "clock",
        ]
        # The MSP's own verdicts, as its export stated them (docs/imports.md, "The MSP's own
        # SLA verdicts"): beside the portal's in `clock`, never used to compute them.
        extra_kwargs = {
            "reported_response_met": {
                "help_text": "the MSP's tool's response verdict: true met, false breached, "
                "null not in the export or not read as either"
            },
            "reported_resolution_met": {
                "help_text": "the MSP's tool's resolution verdict: true met, false breached, "
                "null not in the export or not read as either"
            },
            "reported_response_raw": {
                "help_text": "the response verdict as the export spelled it; empty without one"
            },
            "reported_resolution_raw": {
                "help_text": "the resolution verdict as the export spelled it; empty without one"
            },
        }


class TicketEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = TicketEvent
        fields = [
            "position",
            "at",
            "state",
            "status_raw",
            "assignee",
            "assignment_group",
            "updated_by",
            "tier",
        ]


class TicketDetailSerializer(TicketSerializer):
    """A ticket with its pauses and its status history (empty for a one-row export)."""

    history = TicketEventSerializer(many=True, read_only=True)

    class Meta(TicketSerializer.Meta):
        fields = [*TicketSerializer.Meta.fields, "paused_intervals", "reopen_gaps", "history"]


class OutageSerializer(serializers.ModelSerializer):
    client = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Outage
        fields = ["id", "client", "service", "started_at", "ended_at", "planned", "note"]
