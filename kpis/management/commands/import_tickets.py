"""python manage.py import_tickets PATH --client SLUG --preset NAME [--mapping FILE.json]"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from contracts.models import Contract, Organisation
from kpis.imports.ingest.presets import DATE_ORDERS, PRESETS
from kpis.imports.services import import_file_sync
from kpis.models import ImportJob


class Command(BaseCommand):
    help = "Import a PSA ticket export for one client, synchronously."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--client", required=True, help="the client's slug")
        parser.add_argument("--preset", choices=sorted(PRESETS), help="guessed from the header")
        parser.add_argument("--mapping", type=Path, help="a mapping JSON (as the web step saves)")
        parser.add_argument("--timezone", help="IANA zone of naive timestamps")
        parser.add_argument("--date-order", choices=DATE_ORDERS, help="for dates like 03/04/2025")
        parser.add_argument("--msp", help="the MSP's slug, when the client has several")
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
