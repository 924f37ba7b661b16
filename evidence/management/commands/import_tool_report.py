"""python manage.py import_tool_report FILE --kind KIND --client SLUG [--preset P]
[--report-date DAY] [--map FIELD=COLUMN ...] [--statement TEXT]: a report exported from the
MSP's own tool (evidence/kinds.py), stored with its rows for the client's current contract;
the commitments measured from it are judged again and the client recomputed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError

from contracts.models import Organisation
from contracts.selectors import current_contract
from evidence.kinds import KINDS, ReportKind


class Command(BaseCommand):
    help = (
        "Import a report exported from the MSP's own tool: "
        + "; ".join(f"{k.kind} = {k.noun} ({k.about})" for k in KINDS.values())
        + ". Re-importing the same report changes nothing; a bad row is reported by row, "
        "column and value and the others are imported. docs/evidence.md lists the layouts."
    )
    # Set by a command fixed to one kind (import_patch_report).
    kind: str | None = None

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        if self.kind is None:
            parser.add_argument("--kind", required=True, choices=sorted(KINDS))
        parser.add_argument("--client", required=True, metavar="SLUG")
        parser.add_argument(
            "--preset",
            default="generic",
            help="the tool that exported it: "
            + "; ".join(f"{k.kind}: {', '.join(k.layout.presets)}" for k in KINDS.values()),
        )
        parser.add_argument(
            "--report-date",
            type=date.fromisoformat,
            default=None,
            metavar="YYYY-MM-DD",
            help="the day the tool exported the report (default: today)",
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="FIELD=COLUMN",
            help="the file's column for a field, where it differs from the layout; repeat",
        )
        parser.add_argument(
            "--statement", default="", help="what the MSP attests with the report (mfa)"
        )

    def handle(self, *args, **options):
        kind: ReportKind = KINDS[self.kind or options["kind"]]
        if options["preset"] not in kind.layout.presets:
            raise CommandError(
                f"--preset {options['preset']}: a {kind.noun} is read from one of "
                f"{', '.join(kind.layout.presets)}"
            )
        client = Organisation.objects.filter(slug=options["client"], kind="client").first()
        if client is None:
            raise CommandError(f"--client: no client with the slug '{options['client']}'")
        contract = current_contract(client=client)
        if contract is None:
            raise CommandError(f"--client: {client.name} has no contract to measure")
        mapping = {}
        for item in options["map"]:
            field_name, _, column = item.partition("=")
            if field_name not in kind.layout.fields or not column:
                raise CommandError(
                    f"--map {item}: expected FIELD=COLUMN, FIELD one of "
                    f"{', '.join(kind.layout.fields)}"
                )
            mapping[field_name] = column
        path: Path = options["path"]
        try:
            upload = SimpleUploadedFile(path.name, path.read_bytes())
        except OSError as error:
            raise CommandError(str(error)) from None
        extra = {"statement": options["statement"]} if kind.statement else {}
        try:
            report = kind.import_report(
                contract=contract,
                upload=upload,
                preset=options["preset"],
                report_date=options["report_date"] or date.today(),
                actor=None,
                source="command",
                mapping=mapping,
                **extra,
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(
            f"{report.original_name}: {report.rows_read} rows read, "
            f"{report.rows_imported} imported for {client.name}."
        )
        for p in report.problems:
            if p.get("left_out"):  # the count of the rows past the first 1,000 problems
                self.stderr.write(p["reason"][0].upper() + p["reason"][1:])
                continue
            self.stderr.write(f"row {p['row']}, column {p['column']} '{p['value']}': {p['reason']}")
