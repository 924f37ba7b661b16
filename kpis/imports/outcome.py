"""What a finished import covered, kept for its done page: the creation dates of the tickets it
read and the client-months it marked for KPI recomputation (kpis.models.ImportOutcome)."""

from __future__ import annotations

import datetime

import polars as pl

from kpis.models import ImportJob, ImportOutcome


def import_outcome_record(job: ImportJob, tickets: pl.DataFrame, months: set) -> None:
    """Written in the import's own transaction, so it exists exactly when the import does."""
    created = tickets["created_at"] if tickets.height else None

    def utc(value) -> datetime.datetime | None:
        return value.replace(tzinfo=datetime.UTC) if value is not None else None

    ImportOutcome.objects.update_or_create(
        job=job,
        defaults={
            "first_created": utc(created.min()) if created is not None else None,
            "last_created": utc(created.max()) if created is not None else None,
            "months": sorted([client_id, str(month)[:10]] for client_id, month in months),
        },
    )
