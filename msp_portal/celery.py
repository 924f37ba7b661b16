"""The Celery application: one broker (Redis), tasks found in every app, beat schedule in code."""

import logging
import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "msp_portal.settings")

app = Celery("msp_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def _sweep_at_start(sender, **kwargs):
    """A worker that starts (after a crash, a kill or a deploy) re-queues at once the jobs a dead
    worker left running, instead of waiting for beat's next sweep."""
    for name in ("kpis.tasks.imports_sweep_task", "reviews.tasks.review_pdfs_sweep_task"):
        try:
            sender.app.send_task(name)
        except Exception as error:  # the broker went again: beat's sweep will do it
            logging.getLogger(__name__).warning("sweep at start not sent: %s", error)
