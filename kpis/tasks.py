"""Celery tasks of the KPI domain: thin interfaces to services, safe to run twice."""

from celery import shared_task

from kpis.imports.jobs import imports_sweep
from kpis.imports.services import import_run
from msp_portal.jobs import DATABASE_ERRORS, JobTask, forget_enqueued


class ImportTask(JobTask):
    job = "kpis.imports.jobs.IMPORT_JOBS"
    failure_message = "The import failed ({error}); re-run it from its page."


@shared_task(
    base=ImportTask,
    ignore_result=True,  # the job row is the result; publishing never waits on Redis
    autoretry_for=DATABASE_ERRORS,
    retry_backoff=True,
    retry_backoff_max=120,
    max_retries=5,
)
def import_run_task(job_id: int) -> str:
    """Run one queued import; a redelivered task takes over the job its dead worker left running,
    a duplicate of a live one does nothing."""
    job = import_run(job_id)
    return job.status if job else "already handled"


@shared_task(ignore_result=True)
def imports_sweep_task() -> dict[str, int]:
    """Beat, every minute, and each worker at start: re-queue imports and recomputes that a dead
    worker or a broker outage left behind."""
    return imports_sweep()


@shared_task(
    ignore_result=True,  # the snapshots are the result; publishing never waits on Redis
    autoretry_for=DATABASE_ERRORS,
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
)
def kpis_recompute_task(client_id: int, full: bool = False) -> int:
    """Recompute one client's clocks and the snapshots of the periods its imports marked stale,
    or all of them (`full`: nightly and after a contract change). A second run for the same
    client waits for the first, then gives the same rows."""
    from contracts.models import Organisation
    from kpis.metrics.recompute import kpis_recompute

    # Taken off the queue: if this worker dies now, the sweep sees no message out and re-queues.
    forget_enqueued("recompute", client_id)
    client = Organisation.objects.filter(pk=client_id).first()
    return kpis_recompute(client, full=full) if client else 0


@shared_task(
    autoretry_for=DATABASE_ERRORS,
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
)
def kpis_recompute_batch_task(client_ids: list[int]) -> int:
    """Recompute several clients in full at once (one clock call, one group-by for them all)."""
    from contracts.models import Organisation
    from kpis.metrics.recompute import kpis_recompute_clients

    clients = list(Organisation.objects.filter(pk__in=client_ids))
    return kpis_recompute_clients(clients, full=True) if clients else 0


def batches(ids: list[int], count: int) -> list[list[int]]:
    """`ids` dealt into at most `count` batches of near-equal size, each in id order."""
    count = max(1, min(count, len(ids)))
    return [sorted(ids[i::count]) for i in range(count)] if ids else []


@shared_task
def kpis_recompute_all() -> int:
    """Nightly: recompute every client with a contract, in as many batches as the worker has
    processes (KPI_RECOMPUTE_BATCHES), so the batches run side by side, one per core."""
    from django.conf import settings

    from contracts.models import Contract

    client_ids = sorted(set(Contract.objects.values_list("client_id", flat=True)))
    for batch in batches(client_ids, settings.KPI_RECOMPUTE_BATCHES):
        kpis_recompute_batch_task.delay(batch)
    return len(client_ids)


@shared_task(ignore_result=True)
def import_undo_rows_purge_task() -> int:
    """Daily: drop what imports past the undo window kept to undo themselves."""
    from kpis.imports.undo import undo_rows_purge

    return undo_rows_purge()
