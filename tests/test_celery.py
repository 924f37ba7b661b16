"""Celery: a real worker on the real broker runs the beat job that opens commitment periods."""

from __future__ import annotations

import pytest
from celery.contrib.testing.worker import start_worker

from contracts.models import CommitmentOccurrence
from contracts.tasks import commitments_refresh
from msp_portal.celery import app


@pytest.mark.django_db(transaction=True)
def test_the_refresh_job_opens_missing_periods_exactly_once(world):
    # Pretend the periods since the summer were never opened.
    CommitmentOccurrence.objects.filter(
        period_start__gte="2026-07-01", completed_on__isnull=True
    ).delete()
    missing_before = CommitmentOccurrence.objects.count()
    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        created = commitments_refresh.delay().get(timeout=30)
        assert created > 0
        assert CommitmentOccurrence.objects.count() == missing_before + created
        # Idempotent: a second run (beat fires hourly) creates nothing.
        assert commitments_refresh.delay().get(timeout=30) == 0


def test_beat_schedules_the_refresh_hourly(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["commitments-refresh"]
    assert entry["task"] == commitments_refresh.name
    assert entry["schedule"] == 3600.0
