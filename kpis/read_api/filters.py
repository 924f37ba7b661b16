"""Query filters of the read API. Each narrows what tenancy already let the caller see, never
widens it: a client is named by its slug, and another tenant's slug simply matches nothing."""

from __future__ import annotations

import re
from datetime import UTC

from django.core.exceptions import ValidationError
from django.db.models import Q
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from drf_spectacular.utils import extend_schema_field

from contracts.models import Contract
from kpis.metrics.period import Period
from kpis.models import KpiSnapshot, Outage, Ticket
from msp_portal.api import IdFilterSet
from msp_portal.tenancy import visible_clients

# The labels Period.parse takes, in years whose periods exist in every time zone (a period of
# year 1 or 9999 would start or end outside what a date can hold).
PERIOD_LABEL = r"(19|2[0-9])[0-9]{2}(-(0[1-9]|1[0-2])|-Q[1-4])?"
PRIORITIES = [(p, p) for p in ("P1", "P2", "P3", "P4")]
# A clock's verdict, and "none" for a clock that gives none (its no_verdict_reason says why).
VERDICTS = [(v, v) for v in ("met", "breached", "pending", "none")]


def period_label_check(value: str) -> None:
    if not re.fullmatch(PERIOD_LABEL, value):
        raise ValidationError(
            f"'{value}' is not a period like 2025-07, 2025-Q3 or 2025 (years 1900 to 2999)"
        )


@extend_schema_field({"type": "string", "pattern": f"^{PERIOD_LABEL}$"})
class PeriodFilter(filters.CharFilter):
    """A month, quarter or year by its label: 2025-07, 2025-Q3, 2025."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, validators=[period_label_check], **kwargs)


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 moment, read in UTC: PostgreSQL refuses offsets past ±15:59, which ISO
    allows (+23:46), and a moment near year 1 or 9999 may have no UTC equivalent at all."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise ValidationError("Enter a moment between the years 1 and 9999 in UTC.") from None


class UtcDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


def client_filter() -> filters.CharFilter:
    return filters.CharFilter(field_name="client__slug", help_text="the client's slug")


class KpiSnapshotFilter(IdFilterSet):
    client = client_filter()
    period = PeriodFilter(field_name="period_label", help_text="2025-07, 2025-Q3 or 2025")
    period_kind = filters.ChoiceFilter(
        choices=[(k, k) for k in ("month", "quarter", "year")], help_text="month, quarter or year"
    )

    class Meta:
        model = KpiSnapshot
        fields: list[str] = []


class TicketFilter(IdFilterSet):
    client = client_filter()
    period = PeriodFilter(
        method="raised_in",
        help_text="tickets raised in this month, quarter or year (2025-07, 2025-Q3, 2025), "
        "counted in the time zone of the client's contract, as the KPIs are",
    )
    priority = filters.ChoiceFilter(choices=PRIORITIES)
    state = filters.ChoiceFilter(choices=Ticket.State.choices)
    verdict = filters.ChoiceFilter(
        field_name="clock__resolution_verdict",
        choices=VERDICTS,
        method="with_verdict",
        help_text="the resolution verdict ('none': the clock gives no verdict)",
    )
    response_verdict = filters.ChoiceFilter(
        field_name="clock__response_verdict",
        choices=VERDICTS,
        method="with_verdict",
        help_text="the response verdict ('none': the clock gives no verdict)",
    )
    external_id = filters.CharFilter(help_text="the ticket's number in the PSA")

    class Meta:
        model = Ticket
        fields: list[str] = []

    def with_verdict(self, queryset, name, value):
        return queryset.filter(**{name: "" if value == "none" else value})

    def raised_in(self, queryset, name, value):
        """Each client's period runs in its own contract's time zone (the newest contract's,
        as contracts.selectors.current_contract picks it): one range per zone."""
        clients = visible_clients(self.request.user)
        if self.form.cleaned_data.get("client"):
            clients = clients.filter(slug=self.form.cleaned_data["client"])
        zones = (
            Contract.objects.filter(client__in=clients)
            .order_by("client_id", "-starts", "-id")
            .distinct("client_id")
            .values_list("client_id", "timezone")
        )
        by_zone: dict[str, list[int]] = {}
        for client_id, zone in zones:
            by_zone.setdefault(zone, []).append(client_id)
        if not by_zone:
            return queryset.none()
        raised = Q()
        for zone, client_ids in by_zone.items():
            period = Period.parse(value, zone)
            raised |= Q(
                client_id__in=client_ids,
                created_at__gte=period.start.replace(tzinfo=UTC),
                created_at__lt=period.end.replace(tzinfo=UTC),
            )
        return queryset.filter(raised)


class OutageFilter(IdFilterSet):
    client = client_filter()
    service = filters.CharFilter(
        help_text="the service's name, as the contract's uptime targets name it"
    )
    planned = filters.BooleanFilter(help_text="agreed maintenance (true) or an outage (false)")
    since = UtcDateTimeFilter(
        method="down_since", help_text="outages still down after this moment (ISO 8601)"
    )
    until = UtcDateTimeFilter(
        method="down_until", help_text="outages that started before this moment (ISO 8601)"
    )

    class Meta:
        model = Outage
        fields: list[str] = []

    def down_since(self, queryset, name, value):
        return queryset.filter(Q(ended_at__isnull=True) | Q(ended_at__gt=value))

    def down_until(self, queryset, name, value):
        return queryset.filter(started_at__lt=value)
