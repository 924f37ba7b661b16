"""python manage.py undo_import ID: undo an import (kpis/imports/undo.py) and recompute."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from kpis.imports.undo import UndoRefused, import_undo
from kpis.models import ImportJob


class Command(BaseCommand):
    help = (
        "Undo an import within the undo window (IMPORT_UNDO_DAYS): the tickets it created are "
        "removed, those it updated or replaced get back their values, the KPIs are recomputed."
    )

    def add_arguments(self, parser):
        parser.add_argument("id", type=int, help="the import's number")
        parser.add_argument(
            "--no-recompute",
            dest="recompute",
            action="store_false",
            help="leave the KPIs for the nightly recompute",
        )

    def handle(self, *args, **options):
        job = ImportJob.objects.select_related("client", "msp").filter(pk=options["id"]).first()
        if job is None:
            raise CommandError(f"No import numbered {options['id']}.")
        try:
            months = import_undo(job=job, user=None, source="command")
        except UndoRefused as refused:
            raise CommandError(str(refused)) from None
        self.stdout.write(
            f"Import {job.pk} undone: {job.created} tickets removed, {job.updated} restored; "
            f"{len(months)} months to recompute."
        )
        if options["recompute"] and months:
            from contracts.models import Organisation
            from kpis.metrics.recompute import kpis_recompute_clients

            clients = list(Organisation.objects.filter(pk__in={c for c, _ in months}))
            periods = kpis_recompute_clients(clients, full=False)
            self.stderr.write(f"KPIs recomputed: {periods} periods")
