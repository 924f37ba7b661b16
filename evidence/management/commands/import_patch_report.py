"""python manage.py import_patch_report FILE --client SLUG [--preset P] [--report-date DAY]:
a patch report exported from the MSP's RMM tool, stored with its rows for the client's current
contract; the patch-measured commitments are measured again and the client recomputed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError

from contracts.models import Organisation
from contracts.selectors import current_contract
from evidence.presets import FIELDS, PRESETS
from evidence.services import patch_report_import


class Command(BaseCommand):
    help = (
        "Import a patch report (device, patch or KB id, severity, release date, install date "
        "or status). Re-importing the same report changes nothing; a bad row is reported by "
        "row, column and value and the others are imported."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--client", required=True, metavar="SLUG")
        parser.add_argument("--preset", default="generic", choices=sorted(PRESETS))
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
            help=f"the file's column for a field ({', '.join(FIELDS)}); repeat for each",
        )

    def handle(self, *args, **options):
        client = Organisation.objects.filter(slug=options["client"], kind="client").first()
        if client is None:
            raise CommandError(f"--client: no client with the slug '{options['client']}'")
        contract = current_contract(client=client)
        if contract is None:
            raise CommandError(f"--client: {client.name} has no contract to measure")
        mapping = {}
        for item in options["map"]:
            field_name, _, column = item.partition("=")
            if field_name not in FIELDS or not column:
                raise CommandError(f"--map {item}: expected FIELD=COLUMN, FIELD one of {FIELDS}")
            mapping[field_name] = column
        path: Path = options["path"]
        try:
            upload = SimpleUploadedFile(path.name, path.read_bytes())
        except OSError as error:
            raise CommandError(str(error)) from None
        try:
            report = patch_report_import(
                contract=contract,
                upload=upload,
                preset=options["preset"],
                report_date=options["report_date"] or date.today(),
                actor=None,
                source="command",
                mapping=mapping,
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(
            f"{report.original_name}: {report.rows_read} rows read, "
            f"{report.rows_imported} imported for {client.name}."
        )
        for p in report.problems:
            self.stderr.write(f"row {p['row']}, column {p['column']} '{p['value']}': {p['reason']}")
