"""python manage.py import_outages FILE --client SLUG: outage windows per service from CSV/XLSX.

Columns (header names, any case): service, start, end (empty while still down), planned
(yes/true/1 for agreed maintenance; optional), note (optional). Times with an offset keep it;
times without one are read in the client's contract time zone. Re-importing a file updates the
windows it already holds (same client, service and start) and adds the new ones.
"""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import polars as pl
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from contracts.models import Organisation
from contracts.selectors import current_contract
from kpis.imports.ingest.normalise import cells_clean
from kpis.imports.ingest.presets import header_key
from kpis.imports.ingest.read import UnusableFile, table_read
from kpis.imports.ingest.timestamps import date_order_detect, timestamps_parse
from kpis.models import Outage

COLUMNS = {
    "service": ("service", "service name", "monitor"),
    "start": ("start", "started", "start time", "started at", "down since", "from"),
    "end": ("end", "ended", "end time", "ended at", "restored", "to"),
    "planned": ("planned", "maintenance", "planned maintenance", "scheduled"),
    "note": ("note", "notes", "reason", "cause"),
}


class Command(BaseCommand):
    help = "Import outage windows (service, start, end, planned) for one client."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--client", required=True)
        parser.add_argument("--no-recompute", dest="recompute", action="store_false")

    def handle(self, *args, **options):
        client = Organisation.objects.filter(slug=options["client"], kind="client").first()
        if client is None:
            raise CommandError(f"--client: no client with the slug '{options['client']}'")
        contract = current_contract(client=client)
        zone = contract.timezone if contract else "UTC"
        path: Path = options["path"]
        try:
            table = table_read(path.read_bytes(), path.name)
        except (OSError, UnusableFile) as error:
            raise CommandError(str(error)) from None
        found = {}
        keys = {header_key(h): h for h in table.columns}
        for name, aliases in COLUMNS.items():
            found[name] = next((keys[a] for a in aliases if a in keys), None)
        missing = [n for n in ("service", "start") if found[n] is None]
        if missing:
            raise CommandError(
                f"{path.name}: no '{missing[0]}' column (have: {', '.join(table.columns)})"
            )
        frame = table.frame
        text = {n: cells_clean(frame[c]) for n, c in found.items() if c}
        stamps = [text[n] for n in ("start", "end") if n in text]
        order = date_order_detect(stamps) or "ymd"
        start = timestamps_parse(text["start"], order=order, zone=zone)
        end = timestamps_parse(text["end"], order=order, zone=zone) if "end" in text else None
        created = updated = rejected = 0
        with transaction.atomic():
            for i, row in enumerate(frame["__row"].to_list()):
                problem = self._problem(text, start, end, i)
                if problem:
                    self.stderr.write(f"row {row}: {problem}")
                    rejected += 1
                    continue
                _outage, was_created = Outage.objects.update_or_create(
                    client=client,
                    service=text["service"][i],
                    started_at=start[i].replace(tzinfo=UTC),
                    defaults={
                        "ended_at": end[i].replace(tzinfo=UTC)
                        if end is not None and end[i]
                        else None,
                        "planned": _yes(text.get("planned"), i),
                        "note": (text["note"][i] or "")[:300] if "note" in text else "",
                    },
                )
                created += was_created
                updated += not was_created
        self.stdout.write(f"created={created} updated={updated} rejected={rejected}")
        if options["recompute"] and (created or updated):
            from kpis.metrics.recompute import kpis_recompute

            kpis_recompute(client)

    @staticmethod
    def _problem(text: dict, start: pl.Series, end: pl.Series | None, i: int) -> str:
        if not text["service"][i]:
            return "service is empty"
        if start[i] is None:
            return f"start '{text['start'][i] or ''}' is not a date and time"
        if end is not None and text["end"][i] and end[i] is None:
            return f"end '{text['end'][i]}' is not a date and time"
        if end is not None and end[i] is not None and end[i] <= start[i]:
            return "ends before it starts"
        return ""


def _yes(series: pl.Series | None, i: int) -> bool:
    return series is not None and (series[i] or "").lower() in {"yes", "y", "true", "1", "x"}
