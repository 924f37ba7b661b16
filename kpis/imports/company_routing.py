"""Which client each row of an import belongs to, when the file has a company column.

A file's company column says whose tickets a row holds, and it wins over the client chosen at
upload: a row is written to a client only when its company is routed there (docs/imports.md,
"The right client"). A company is routed, first to last, by the mapping (the mapping step, a
mapping file), by the route the MSP's imports remember for it (CompanyRoute), or by naming one
of the MSP's clients (its name or slug, ignoring case and spacing). A company nothing routes,
and a company routed to "skip", leaves its rows as problems; a row with an empty company cell
goes to the chosen client. Routes only ever lead to clients the importing person may import
for with that MSP: another MSP's routes are never read, and a route to a client the person
cannot see is ignored.
"""

from __future__ import annotations

import polars as pl

from contracts.models import Contract, Organisation
from kpis.imports.ingest.mapping import Mapping
from kpis.imports.ingest.problems import problems_frame
from kpis.models import CompanyRoute, ImportJob
from msp_portal.tenancy import importable_clients

NOT_ROUTED = (
    "company “{}” is not matched to a client: choose its client (or skip it) on the mapping "
    "page, then re-run"
)
SKIPPED = "company “{}” is skipped in the mapping: its tickets were not imported"
NO_COMPANY = "the company is empty and the import has no client chosen: the row is not imported"


def company_key(name: str) -> str:
    """How a company is recognised again: case and spacing do not make another company."""
    return " ".join(name.casefold().split())[:200]


def routing_clients(msp: Organisation, user) -> list[Organisation]:
    """The clients an import of this MSP may send rows to: those the person may import for
    with it, or every client under contract with it for an operator's command (no person)."""
    if user is None:
        contracts = Contract.objects.filter(msp=msp).select_related("client")
        clients = {c.client_id: c.client for c in contracts}.values()
    else:
        clients = [client for client, m in importable_clients(user) if m.pk == msp.pk]
    return sorted(clients, key=lambda c: c.name)


def routes_suggested(
    msp: Organisation, companies: list[str], clients: list[Organisation]
) -> dict[str, str | None]:
    """Company → client slug (None: skip) for each company a remembered route or its name
    decides; a company neither decides is left out."""
    spellings: dict[str, list[str]] = {}  # one company may be spelled several ways in a file
    for company in companies:
        spellings.setdefault(company_key(company), []).append(company)
    slugs = {c.pk: c.slug for c in clients}
    decided: dict[str, str | None] = {}
    for route in CompanyRoute.objects.filter(msp=msp, company_key__in=list(spellings)):
        if route.client_id is None:
            decided[route.company_key] = None
        elif route.client_id in slugs:
            decided[route.company_key] = slugs[route.client_id]
    by_name = {company_key(c.name): c.slug for c in clients}
    by_name |= {company_key(c.slug): c.slug for c in clients}
    for key in spellings:
        if key not in decided and key in by_name:
            decided[key] = by_name[key]
    suggested = {}
    for key, slug in decided.items():
        for company in spellings[key]:
            suggested[company] = slug
    return suggested


def routes_remember(
    msp: Organisation, choices: dict[str, str | None], clients: list[Organisation], user
) -> None:
    """Keep the choices made on the mapping page for the MSP's next imports."""
    by_slug = {c.slug: c for c in clients}
    routes = {}
    for company, slug in choices.items():
        if slug is not None and slug not in by_slug:
            continue  # not a client this person may route to: nothing to remember
        key = company_key(company)
        if key:
            routes[key] = CompanyRoute(
                msp=msp,
                company_key=key,
                company=company[:200],
                client=by_slug.get(slug) if slug else None,
                updated_by=user if user and user.is_authenticated else None,
            )
    CompanyRoute.objects.bulk_create(
        list(routes.values()),
        update_conflicts=True,
        unique_fields=["msp", "company_key"],
        update_fields=["company", "client", "updated_by", "updated_at"],
    )


def company_routes(
    msp: Organisation, user, companies: list[str], mapping: Mapping
) -> dict[str, Organisation | None]:
    """Company → client (None: skipped) for every company something routes: the mapping
    first, then a remembered route or the company's name. A company left out is not routed."""
    clients = routing_clients(msp, user)
    by_slug = {c.slug: c for c in clients}
    explicit = {
        company: slug
        for company, slug in mapping.clients.items()
        if slug is None or slug in by_slug
    }
    slugs = routes_suggested(msp, companies, clients) | explicit
    return {company: by_slug[s] if s else None for company, s in slugs.items()}


def clients_assign(
    job: ImportJob, tickets: pl.DataFrame, mapping: Mapping
) -> tuple[pl.DataFrame, pl.DataFrame, dict[int, str]]:
    """The client of every ticket, the rows no client takes (as problems), and the time zone
    of every client written to."""
    if "company" not in mapping.columns and job.client_id:
        return tickets.with_columns(client_id=pl.lit(job.client_id)), problems_frame(), _zones(job)
    companies = tickets["company"].unique().to_list()
    routes = company_routes(job.msp, job.uploaded_by, [c for c in companies if c], mapping)
    lookup = {company: client.pk for company, client in routes.items() if client is not None}
    if job.client_id:
        lookup[""] = job.client_id
    column = mapping.columns.get("company", "")
    problems = []
    for reason, wanted in (
        (SKIPPED, [c for c, client in routes.items() if client is None]),
        (NOT_ROUTED, [c for c in companies if c and c not in routes]),
        (NO_COMPANY, [] if job.client_id else [""]),
    ):
        rows = tickets.filter(pl.col("company").is_in(wanted)).select("__row", "company")
        if rows.height:
            values = rows["company"].to_list()
            reasons = [reason.format(c) for c in values]
            problems.append(problems_frame(rows["__row"].to_list(), column, values, reasons))
    # Every row routed: no filter, which would copy every column (an event log's histories too).
    kept = tickets.filter(pl.col("company").is_in(list(lookup))) if problems else tickets
    kept = kept.with_columns(
        client_id=pl.col("company").replace_strict(lookup, return_dtype=pl.Int64)
    )
    zones = _zones(job, set(lookup.values()))
    return kept, pl.concat(problems) if problems else problems_frame(), zones


def _zones(job: ImportJob, client_ids: set[int] | None = None) -> dict[int, str]:
    """Each client's contract time zone (its newest contract with the MSP)."""
    ids = set(client_ids or ()) | ({job.client_id} if job.client_id else set())
    zones: dict[int, str] = {}
    contracts = Contract.objects.filter(msp=job.msp, client_id__in=ids).order_by("starts")
    for contract in contracts.only("client_id", "timezone"):
        zones[contract.client_id] = contract.timezone  # the newest last, so it wins
    return {client_id: zones.get(client_id, "UTC") for client_id in ids}
