"""python manage.py import_tickets PATH --client SLUG --preset NAME [--mapping FILE.json]
[--dry-run]; the mapping file's format is docs/mapping-file.md."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from contracts.models import Contract, Organisation
from kpis.imports.company_routing import company_routes
from kpis.imports.ingest.event_log_guess import event_log_evidence
from kpis.imports.ingest.mapping import Mapping, MappingError
from kpis.imports.ingest.presets import DATE_ORDERS, PRESETS, preset_guess
from kpis.imports.ingest.read import UnusableFile, table_read
from kpis.imports.ingest.value_counts import file_counts
from kpis.imports.mapping_setup import mapping_for_header
from kpis.imports.overlap import overlap_choose, overlap_words
from kpis.imports.services import PREVIEW_ROWS, import_file_sync
from kpis.models import ImportJob


class Command(BaseCommand):
    help = (
        "Import a PSA ticket export for one client, synchronously. The mapping file (--mapping) "
        "is the JSON explained key by key in docs/mapping-file.md (schema: "
        "docs/mapping.schema.json); --dry-run prints the mapping that would be used."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--client", required=True, help="the client's slug")
        parser.add_argument("--preset", choices=sorted(PRESETS), help="guessed from the header")
        parser.add_argument(
            "--mapping",
            type=Path,
            help="a mapping JSON (as the web step saves): see docs/mapping-file.md",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="write nothing: print the preset guessed, the mapping (JSON) and every value "
            "of the mapped value columns in the whole file, with counts and what is unmapped",
        )
        parser.add_argument("--timezone", help="IANA zone of naive timestamps")
        parser.add_argument("--date-order", choices=DATE_ORDERS, help="for dates like 03/04/2025")
        parser.add_argument("--msp", help="the MSP's slug, when the client has several")
        parser.add_argument(
            "--company",
            action="append",
            default=[],
            metavar="NAME=CLIENT",
            help="send the rows of this company (as the file's company column writes it) to "
            "the client with this slug, or skip them with NAME=skip; repeatable. Companies "
            "named like a client, or routed on the mapping page before, need none",
        )
        parser.add_argument(
            "--on-overlap",
            choices=["import", "replace"],
            help="when the file's tickets look like tickets already imported from another "
            "source: 'import' them anyway, or 'replace' that source's tickets for the "
            "overlapping dates (without it the import stops and says what overlaps)",
        )
        parser.add_argument(
            "--no-recompute",
            dest="recompute",
            action="store_false",
            help="leave the KPIs for the nightly recompute",
        )

    def handle(self, *args, **options):
        path: Path = options["path"]
        try:
            content = path.read_bytes()
        except (OSError, ValueError) as error:  # no such file, a folder, a NUL byte, too long
            reason = error.strerror if isinstance(error, OSError) and error.strerror else error
            raise CommandError(f"{str(path)[:200]!r}: cannot be read ({reason})") from None
        client = Organisation.objects.filter(
            slug=options["client"], kind=Organisation.Kind.CLIENT
        ).first()
        if client is None:
            raise CommandError(f"--client: no client with the slug '{options['client']}'")
        contracts = Contract.objects.filter(client=client).select_related("msp")
        if options["msp"]:
            contracts = contracts.filter(msp__slug=options["msp"])
        msps = {c.msp for c in contracts}
        if len(msps) != 1:
            raise CommandError(
                f"--msp: {client.name} has {len(msps)} MSPs under contract; name one with --msp"
            )
        mapping = None
        if options["mapping"]:
            try:
                mapping = json.loads(options["mapping"].read_text())
            except (OSError, ValueError) as error:
                raise CommandError(f"--mapping: {error}") from None
        options["companies"] = _companies(options["company"])
        if options["dry_run"]:
            self._dry_run(path, content, msps.pop(), client, mapping, options)
            return
        job = import_file_sync(
            msp=msps.pop(),
            client=client,
            user=None,
            via=ImportJob.Via.COMMAND,
            name=path.name,
            content=content,
            preset=options["preset"],
            mapping_json=mapping,
            timezone_name=options["timezone"],
            date_order=options["date_order"],
            companies=options["companies"],
            on_overlap=options["on_overlap"] or ImportJob.OnOverlap.ASK,
        )
        if job.status == ImportJob.Status.OVERLAP:
            overlap_choose(job, "cancel")  # the command asks by refusing: nothing was stored
            raise CommandError(
                f"Nothing imported (import {job.pk}): {overlap_words(job.overlap)} Run again "
                "with --on-overlap=import to import them anyway, or --on-overlap=replace to "
                "delete that source's tickets in those dates and import these instead."
            )
        if job.status != ImportJob.Status.DONE:
            raise CommandError(job.message or f"import {job.pk} {job.status}")
        for problem in job.problems.all()[:50]:
            where = f"row {problem.row}" if problem.row else "file"
            self.stderr.write(
                f"{problem.severity}: {where}, {problem.column}: {problem.reason}"
                + (f" (value: {problem.value!r})" if problem.value else "")
            )
        if job.problems.count() > 50:
            self.stderr.write(f"... {job.problems.count() - 50} more problems in import {job.pk}")
        if job.message:
            self.stderr.write(job.message)
        self.stdout.write(
            f"created={job.created} updated={job.updated} "
            f"unchanged={job.unchanged} rejected={job.rejected}"
        )
        if options["recompute"] and (job.created or job.updated):
            from kpis.metrics.recompute import kpis_recompute

            periods = kpis_recompute(client, full=False)
            self.stderr.write(f"KPIs recomputed: {periods} periods")

    def _dry_run(self, path: Path, content: bytes, msp, client, mapping_json, options) -> None:
        """What the import would use, read from the whole file; nothing is written."""
        try:
            table = table_read(content, path.name)
            mapping = mapping_for_header(
                table.columns,
                msp=msp,
                client=client,
                preset=options["preset"],
                mapping_json=mapping_json,
                timezone_name=options["timezone"],
                date_order=options["date_order"],
                sample=table.frame.head(PREVIEW_ROWS),  # what the import itself looks at
                companies=options["companies"],
            )
        except (UnusableFile, MappingError) as error:
            raise CommandError(str(error)) from None
        guessed = preset_guess(table.columns)
        self.stdout.write(f"preset guessed from the header: {guessed.name} ({guessed.label})")
        if mapping.event_log:
            evidence = event_log_evidence(
                table.frame.head(PREVIEW_ROWS),
                mapping.columns.get("external_id"),
                mapping.columns.get("updated_at"),
            )
            said = str(evidence) if evidence else "read as an event log, a row per update"
            self.stdout.write(f"each row is a ticket update: {said}")
        if mapping.preset != guessed.name:
            self.stdout.write(f"preset used: {mapping.preset} ({PRESETS[mapping.preset].label})")
        self.stdout.write("mapping (a mapping file for --mapping, docs/mapping-file.md):")
        self.stdout.write(json.dumps(mapping.to_json(), indent=2, ensure_ascii=False))
        rows = table.frame.height
        self.stdout.write(f"values of the mapped columns, in all {rows} rows of the file:")
        counted = file_counts(table.frame, mapping.columns)
        companies = [raw for raw, _count in counted.get("company", ([], 0))[0]]
        routes = {
            company: client.slug if client else None
            for company, client in company_routes(msp, None, companies, mapping).items()
        }
        for field_name, (values, left_off) in counted.items():
            self.stdout.write(f"{field_name} (column '{mapping.columns[field_name]}'):")
            unmapped = []
            for raw, count in values:
                meaning = _meaning(mapping, field_name, raw, routes)
                self.stdout.write(f"  {raw!r} ×{count} → {meaning or 'unmapped'}")
                if meaning is None:
                    unmapped.append((raw, count))
            if left_off:
                self.stdout.write(f"  … and rarer values on {left_off} more rows, not listed")
            rows_unmapped = sum(n for _, n in unmapped)
            self.stdout.write(
                f"  unmapped: {len(unmapped)} values on {rows_unmapped} rows"
                + (": " + ", ".join(repr(raw) for raw, _ in unmapped[:20]) if unmapped else "")
            )
        self.stdout.write("dry run: nothing was written")


def _companies(pairs: list[str]) -> dict[str, str | None]:
    """The --company routes: company → client slug, or None to skip its rows."""
    routes: dict[str, str | None] = {}
    for pair in pairs:
        company, sep, slug = pair.rpartition("=")
        if not sep or not company.strip() or not slug.strip():
            raise CommandError(f"--company: '{pair}' is not NAME=CLIENT (a slug, or skip)")
        routes[company.strip()] = None if slug.strip() == "skip" else slug.strip()
    return routes


def _meaning(
    mapping: Mapping, field_name: str, raw: str, routes: dict[str, str | None]
) -> str | None:
    """What a raw value is read as; a company, the client its rows go to (docs/imports.md,
    "The right client")."""
    if field_name == "company":
        if raw not in routes:
            return None
        return routes[raw] or "skipped"
    return mapping.value_for(field_name, raw)
