"""A QBR PDF when its worker is killed or its database connection dropped: never left
running, made exactly once (RELIABILITY.md)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from django.db import connection

from msp_portal.jobs import Locks
from reviews import services as review_services
from reviews.models import Review

from .jobs import assert_pdf_made, lease_holder
from .support import FAULTS, wait_until

pytestmark = FAULTS


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium")
def test_a_worker_killed_mid_pdf_does_not_leave_it_running_and_the_next_worker_makes_it(
    world, stack
):
    from tests.test_recompute import import_sample

    import_sample(world, "connectwise_service_tickets.csv")
    review, _ = review_services.review_draft_ensure(
        contract=world.acme_contract, quarter="2025-Q3", actor=world.advisor
    )
    Review.objects.filter(pk=review.pk).update(pdf_status=Review.PdfStatus.QUEUED)
    stack.worker()
    stack.app.send_task("reviews.tasks.review_pdf_task", args=[review.pk])

    def rendering():
        review.refresh_from_db()
        return review.pdf_status == Review.PdfStatus.RUNNING and review.pdf_progress > 1

    wait_until(rendering, 120, "the PDF to be under way", every=0.05)
    stack.kill("worker")
    review.refresh_from_db()
    assert review.pdf_status == Review.PdfStatus.RUNNING  # left behind by the dead worker
    stack.worker("worker-2")
    assert_pdf_made(review)


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium")
def test_a_dropped_database_connection_mid_pdf_retries_and_makes_it_exactly_once(world, stack):
    from tests.test_recompute import import_sample

    import_sample(world, "connectwise_service_tickets.csv")
    review, _ = review_services.review_draft_ensure(
        contract=world.acme_contract, quarter="2025-Q3", actor=world.advisor
    )
    Review.objects.filter(pk=review.pk).update(pdf_status=Review.PdfStatus.QUEUED)
    began = time.time()
    stack.worker()  # its start-up sweep sends the one message for the queued PDF

    def drawing_charts():
        review.refresh_from_db()
        return review.pdf_status == Review.PdfStatus.RUNNING and review.pdf_phase.startswith(
            "drawing charts"
        )

    wait_until(drawing_charts, 120, "the PDF's charts to be under way", every=0.05)
    pid = lease_holder(review.pk, Locks.REVIEW_PDF)
    assert pid, "the PDF was made before the fault"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cursor.fetchone()[0]
    assert_pdf_made(review)
    log = stack.log("worker")
    retried = re.findall(
        r"review_pdf_task\[([^]]+)\] retry: Retry in \d+s: (?:OperationalError|InterfaceError)", log
    )
    # Made once, by the retry: the one run that ended with the PDF is the task that retried, and
    # it wrote the only file of this review.
    made = re.findall(r"review_pdf_task\[([^]]+)\] succeeded in \S+: 'done'", log)
    assert len(retried) == 1 and made == retried, log[-3000:]
    folder = Path(review.pdf.path).parent
    written = [
        f
        for f in folder.glob(f"{review.quarter}-v{review.version}-*.pdf")
        if f.stat().st_mtime >= began
    ]
    assert written == [Path(review.pdf.path)], written
