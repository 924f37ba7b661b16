"""Read-only endpoints over the clients the caller sees (msp_portal.tenancy.visible_clients):
the same clients, and so the same tickets, figures and outages, as the client's pages show."""

from __future__ import annotations

from collections.abc import Iterable

from rest_framework import mixins, viewsets
from rest_framework.response import Response

from kpis.metrics.period import Period
from kpis.models import KpiSnapshot, Outage, RecomputeRequest, Ticket, TicketEvent
from msp_portal.tenancy import visible_clients

from . import filters as f
from . import serializers as s


class ReadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """List and detail of one kind of client-owned row, scoped to the clients the caller sees."""

    model: type

    def scoped(self):
        return self.model.objects.filter(client__in=visible_clients(self.request.user))


def snapshots_mark_stale(snapshots: Iterable[KpiSnapshot]) -> None:
    """Set `stale` on each snapshot: a month of its period still waits for a recompute an
    import asked for (kpis.models.RecomputeRequest). One query for the whole page."""
    snapshots = list(snapshots)
    waiting = set(
        RecomputeRequest.objects.filter(
            client_id__in={snapshot.client_id for snapshot in snapshots}
        ).values_list("client_id", "month")
    )
    for snapshot in snapshots:
        period = Period.parse(snapshot.period_label, "UTC")  # only its days are read
        snapshot.stale = any(
            client_id == snapshot.client_id and period.first_day <= month < period.next_first_day
            for client_id, month in waiting
        )


class KpiSnapshotViewSet(ReadViewSet):
    """A client's KPIs for a month, quarter or year, as last computed. Never computed here: a
    stale snapshot (an import changed its tickets since) says so, and the recompute the import
    queued replaces it (the import sweep queues it again if it was lost)."""

    model = KpiSnapshot
    serializer_class = s.KpiSnapshotSerializer
    filterset_class = f.KpiSnapshotFilter

    def get_queryset(self):
        return (
            self.scoped()
            .select_related("client")
            .defer("figures", "breakdowns", "content_hash")
            .order_by("client__slug", "-period_start", "period_kind", "id")
        )

    def get_serializer(self, *args, **kwargs):
        instance = args[0] if args else kwargs.get("instance")
        if isinstance(instance, KpiSnapshot):
            snapshots_mark_stale([instance])
        elif isinstance(instance, list):
            snapshots_mark_stale(instance)
        return super().get_serializer(*args, **kwargs)


class TicketViewSet(ReadViewSet):
    """Tickets with their SLA clocks and verdicts as the last recompute stored them; one ticket
    comes with its status history."""

    model = Ticket
    filterset_class = f.TicketFilter

    def get_serializer_class(self):
        return s.TicketDetailSerializer if self.action == "retrieve" else s.TicketSerializer

    def get_queryset(self):
        tickets = self.scoped().select_related("client", "clock").order_by("-created_at", "-id")
        if self.action == "retrieve":
            return tickets
        # What a listed ticket does not show: the pauses and raw texts are read one at a time.
        return tickets.defer(
            "paused_intervals",
            "reopen_gaps",
            "content_hash",
            "kind_raw",
            "priority_raw",
            "status_raw",
            "origin_raw",
            "requester",
        )

    def retrieve(self, request, *args, **kwargs):
        ticket = self.get_object()
        # By client and ticket: the order of TicketEvent's primary key, so its index answers.
        ticket.history = list(
            TicketEvent.objects.filter(client_id=ticket.client_id, ticket=ticket).order_by(
                "position"
            )
        )
        return Response(self.get_serializer(ticket).data)


class OutageViewSet(ReadViewSet):
    """Windows in which a client's monitored service was down (planned maintenance marked)."""

    model = Outage
    serializer_class = s.OutageSerializer
    filterset_class = f.OutageFilter

    def get_queryset(self):
        return self.scoped().select_related("client").order_by("-started_at", "id")
