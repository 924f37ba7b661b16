"""The Celery application: one broker (Redis), tasks found in every app, beat schedule in code."""

import contextlib
import logging
import os

from celery import Celery
from celery.signals import celeryd_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "msp_portal.settings")

app = Celery("msp_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def lower_priority(niceness: int) -> None:
    """Raise the niceness of every thread of this process to `niceness` (never lower it, which
    would need privileges); threads and processes started afterwards inherit it.

    Linux keeps a niceness per thread, so each thread listed in /proc is set, not only the
    calling one."""
    task_dir = "/proc/self/task"
    threads = [int(tid) for tid in os.listdir(task_dir)] if os.path.isdir(task_dir) else [0]
    for tid in threads:
        with contextlib.suppress(ProcessLookupError):  # a thread that ended meanwhile
            if os.getpriority(os.PRIO_PROCESS, tid) < niceness:
                os.setpriority(os.PRIO_PROCESS, tid, niceness)


@celeryd_init.connect
def _yield_the_cpu_to_the_pages(sender, **kwargs):
    """A worker program (`celery worker`, not a test's in-process worker) runs imports,
    recomputes and PDFs at settings.WORKER_NICENESS, set before its pool forks. Where web and
    worker share cores, a page then waits less behind a big import for the CPU (bench-load,
    benchmarks/RESULTS.md); the job still gets every idle cycle, and is only slower while
    pages are being served."""
    from django.conf import settings

    lower_priority(settings.WORKER_NICENESS)


@worker_ready.connect
def _sweep_at_start(sender, **kwargs):
    """A worker that starts (after a crash, a kill or a deploy) re-queues at once the jobs a dead
    worker left running, instead of waiting for beat's next sweep."""
    for name in (
        "kpis.tasks.imports_sweep_task",
        "reviews.tasks.review_pdfs_sweep_task",
        "evidence.tasks.tool_report_imports_sweep_task",
    ):
        try:
            sender.app.send_task(name)
        except Exception as error:  # the broker went again: beat's sweep will do it
            logging.getLogger(__name__).warning("sweep at start not sent: %s", error)
