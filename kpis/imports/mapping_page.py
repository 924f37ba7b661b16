"""What the mapping page shows beside its form: the summary of what the import will store, the
first rows as they will be stored, each value column under the file's own name for it, and
where each company's rows go. The view (kpis/imports/views.py) decides; this only reads."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from contracts.models import Organisation
from kpis.imports.company_routing import routes_suggested
from kpis.imports.forms import SKIP, VALUE_FIELDS
from kpis.imports.ingest.presets import NORMALISED_VALUES
from kpis.imports.ingest.timestamps import AmbiguousDates
from kpis.imports.mapping_check import FileSummary, ParsedRow, file_summary, parsed_preview
from kpis.imports.mapping_setup import client_zone
from kpis.imports.services import Preview
from kpis.models import ImportJob

# What each value column is read as, for the heading of its section.
VALUE_MEANINGS = {
    "priority": "the priority (P1 to P4)",
    "status": "the state of the ticket",
    "origin": "the origin (proactive or reactive)",
    "tier": "the support tier (1 to 3)",
    "kind": "the type of ticket",
    "reported_response_met": "the MSP's own response verdict (met or breached)",
    "reported_resolution_met": "the MSP's own resolution verdict (met or breached)",
}


@dataclass
class CompanyLine:
    """One company of the file's company column and where its rows go."""

    company: str
    rows: int
    choice: str  # a client's slug, SKIP, or "" (not chosen)
    client_name: str = ""


@dataclass
class ValueSection:
    """The values of one mapped value column, with what each is read as."""

    field: str
    column: str
    meaning: str
    values: list[tuple[str, int, str | None]]
    choices: tuple[str, ...]
    unmapped_values: int
    unmapped_rows: int
    left_off: int


@dataclass
class Check:
    """Everything the page says about the import before it runs."""

    summary: FileSummary
    headings: list[tuple[str, str]] = field(default_factory=list)
    parsed: list[ParsedRow] = field(default_factory=list)
    companies: list[CompanyLine] = field(default_factory=list)
    sections: list[ValueSection] = field(default_factory=list)
    columns_mapped: int = 0
    columns_total: int = 0

    @property
    def unmapped(self) -> list[ValueSection]:
        return [s for s in self.sections if s.unmapped_values]

    @property
    def companies_unchosen(self) -> list[CompanyLine]:
        return [c for c in self.companies if not c.choice]

    def company_rows(self, kind: str) -> int:
        """Rows of the companies routed to a client, skipped, or not chosen."""
        wanted = {
            "routed": lambda c: c.choice not in ("", SKIP),
            "skipped": lambda c: c.choice == SKIP,
            "unchosen": lambda c: not c.choice,
        }[kind]
        return sum(c.rows for c in self.companies if wanted(c))

    @property
    def companies_routed(self) -> int:
        return self.company_rows("routed")

    @property
    def companies_skipped(self) -> int:
        return self.company_rows("skipped")

    @property
    def companies_unchosen_rows(self) -> int:
        return self.company_rows("unchosen")


def page_zone(job: ImportJob, preview: Preview) -> str:
    """The zone dates are shown in: the client's; for several clients, the mapping's."""
    return client_zone(job.msp, job.client) if job.client else preview.mapping.timezone


def company_lines(
    job: ImportJob, preview: Preview, clients: list[Organisation]
) -> list[CompanyLine]:
    """Each company with its rows and its client: chosen on the page (or in the mapping used),
    else remembered for the MSP or named like a client (kpis/imports/company_routing.py)."""
    if "company" not in preview.mapping.columns:
        return []
    companies = [company for company, _ in preview.companies]
    suggested = routes_suggested(job.msp, companies, clients)
    names = {c.slug: c.name for c in clients}
    lines = []
    for company, rows in preview.companies:
        if company in preview.mapping.clients:
            slug = preview.mapping.clients[company]
        else:
            slug = suggested.get(company, "")
        choice = SKIP if slug is None else slug if slug in names else ""
        lines.append(CompanyLine(company, rows, choice, names.get(choice, "")))
    return lines


def value_sections(preview: Preview) -> list[ValueSection]:
    columns = preview.mapping.columns
    sections = []
    for name in VALUE_FIELDS:
        values = preview.value_counts.get(name)
        if not values:
            continue
        column = f"“{columns[name]}”"
        if name == "status" and "sub_status" in columns:
            column += f" with “{columns['sub_status']}”"
        unmapped = [count for _raw, count, guess in values if not guess]
        sections.append(
            ValueSection(
                field=name,
                column=column,
                meaning=VALUE_MEANINGS[name],
                values=values,
                choices=NORMALISED_VALUES[name],
                unmapped_values=len(unmapped),
                unmapped_rows=sum(unmapped),
                left_off=preview.left_off.get(name, 0),
            )
        )
    return sections


def check_build(
    job: ImportJob, preview: Preview, clients: list[Organisation], *, parse: bool
) -> Check:
    """The page's check. `parse` is False when the mapping failed its own check: then only
    what needs no parsing is shown."""
    zone = page_zone(job, preview)
    check = Check(
        summary=FileSummary(rows=preview.table.frame.height, zone=zone),
        companies=company_lines(job, preview, clients),
        sections=value_sections(preview),
        columns_mapped=len(set(preview.mapping.columns.values()) & set(preview.table.columns)),
        columns_total=len(preview.table.columns),
    )
    if parse:
        check.summary = file_summary(job, preview.mapping, zone)
        if not check.summary.date_order_needed:
            # The order the whole file decides: the first rows alone may not decide it.
            order = check.summary.date_order or preview.mapping.date_order
            mapping = replace(preview.mapping, date_order=order)
            try:
                check.headings, check.parsed = parsed_preview(preview.table, mapping, zone)
            except AmbiguousDates as error:
                check.summary.date_order_needed = str(error)
    return check
