"""python manage.py reconcile --client SLUG --period 2025-Q3 [--format json|csv|text]"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from contracts.models import Organisation
from msp_portal.csv_export import csv_writer
from reconciliation.causes import CAUSE_WORDS
from reconciliation.services import reconciliation_compute

CSV_COLUMNS = ["ticket", "clock", "measured", "reported", "reported_raw", "cause", "explanation"]


class Command(BaseCommand):
    help = (
        "List the tickets whose SLA verdict the MSP reports differently from the portal, each "
        "with its likely cause, and the MSP's reported figures beside the measured ones."
    )

    def add_arguments(self, parser):
        parser.add_argument("--client", required=True, help="the client's slug")
        parser.add_argument("--period", required=True, help="2025-07, 2025-Q3 or 2025")
        parser.add_argument("--format", choices=["json", "csv", "text"], default="text")

    def handle(self, *args, **options):
        client = Organisation.objects.filter(slug=options["client"], kind="client").first()
        if client is None:
            raise CommandError(f"--client: no client with the slug '{options['client']}'")
        try:
            result = reconciliation_compute(client=client, period_label=options["period"])
        except ValueError as error:
            raise CommandError(f"--period: {error}") from None
        write = {"json": self._json, "csv": self._csv, "text": self._text}[options["format"]]
        write(result)

    def _json(self, result) -> None:
        document = {
            "client": result.client.slug,
            "period": result.period.label,
            "compared": result.compared,
            "figures": [f.to_json() for f in result.figures],
            "causes": [
                {"cause": c.cause.value, "count": c.count, "words": c.words} for c in result.counted
            ],
            "differences": [d.to_json() for d in result.differences],
        }
        self.stdout.write(json.dumps(document, indent=2, ensure_ascii=False))

    def _csv(self, result) -> None:
        # An export's id or raw verdict is the MSP's text: kept inert for a spreadsheet.
        writer = csv_writer(self.stdout)
        writer.writerow(CSV_COLUMNS)
        for d in result.differences:
            cause = d.cause
            row = [d.external_id, d.clock, d.measured, d.reported, d.raw, cause.value]
            writer.writerow([*row, CAUSE_WORDS[cause]])

    def _text(self, result) -> None:
        self.stdout.write(f"{result.client.name} — {result.period.label}")
        if not result.figures:
            self.stdout.write("  No figures entered from the MSP's report for this period.")
        for figure in result.figures:
            self.stdout.write(f"  {figure.label}: {figure.words}")
        total = len(result.differences)
        self.stdout.write(
            f"{total} difference(s) among {result.compared} verdict(s) the MSP's export states"
        )
        for count in result.counted:
            self.stdout.write(f"  {count.words}")
        for d in result.differences:
            self.stdout.write(
                f"  {d.external_id:<16}{d.clock:<12}measured {d.measured:<10}"
                f"MSP {d.reported:<10}{CAUSE_WORDS[d.cause]}"
            )
