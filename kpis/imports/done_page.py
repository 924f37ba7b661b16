"""What the page of a finished import says, beyond its counts: the creation dates its tickets
cover in the client's time zone, the months it had recomputed per client, and where to go next
(the client's dashboard for the newest complete month it touched). Only clients the viewer may
see are named."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils import timezone

from kpis.imports.mapping_setup import client_zone
from kpis.models import ImportJob, ImportOutcome
from msp_portal.tenancy import visible_clients


@dataclass
class ClientPeriods:
    """The months an import had recomputed for one client, and its dashboard's newest one."""

    name: str
    months: int
    first: str  # "Jul 2025"
    last: str
    dashboard_url: str
    dashboard_label: str  # "June 2026"


def _month_name(day: datetime.date, *, long: bool = False) -> str:
    return f"{day:%B %Y}" if long else f"{day:%b %Y}"


def _newest_complete(
    months: list[datetime.date], zone: str, last_created: datetime.datetime | None
) -> datetime.date:
    """The month to open the dashboard on: the newest that has ended in the client's zone and
    holds tickets this import created (an open ticket marks every month up to today, which
    says little of this file), else the newest ended, else the newest of all."""
    this_month = timezone.now().astimezone(ZoneInfo(zone)).date().replace(day=1)
    ended = [m for m in months if m < this_month]
    if last_created is not None:
        newest_ticket = last_created.astimezone(ZoneInfo(zone)).date().replace(day=1)
        with_tickets = [m for m in ended if m <= newest_ticket]
        if with_tickets:
            return max(with_tickets)
    return max(ended) if ended else max(months)


def done_facts(job: ImportJob, user) -> dict:
    """The done page's dates covered and periods recomputed (empty before an import ends)."""
    try:
        outcome = job.outcome
    except ImportOutcome.DoesNotExist:
        return {}
    zone = client_zone(job.msp, job.client) if job.client else "UTC"
    by_client: dict[int, list[datetime.date]] = {}
    for client_id, month in outcome.months:
        by_client.setdefault(client_id, []).append(datetime.date.fromisoformat(month))
    periods = []
    for client in visible_clients(user).filter(pk__in=list(by_client)).order_by("name"):
        months = sorted(by_client[client.pk])
        client_tz = client_zone(job.msp, client)
        newest = _newest_complete(months, client_tz, outcome.last_created)
        url = reverse("client_dashboard", args=[client.slug]) + f"?period={newest:%Y-%m}"
        periods.append(
            ClientPeriods(
                name=client.name,
                months=len(months),
                first=_month_name(months[0]),
                last=_month_name(months[-1]),
                dashboard_url=url,
                dashboard_label=_month_name(newest, long=True),
            )
        )

    def local(value: datetime.datetime | None) -> str:
        if value is None:
            return ""
        day = value.astimezone(ZoneInfo(zone))
        return f"{day.day} {day:%b %Y}"

    return {
        "first_created": local(outcome.first_created),
        "last_created": local(outcome.last_created),
        "zone": zone,
        "periods": periods,
    }
