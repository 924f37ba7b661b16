"""Tool reports uploaded through the page or the API are imported by a worker (evidence/jobs.py).
A test whose data lives in its own open transaction cannot hand them to a real worker (it would
not see them), so it runs what the worker runs, in this process: tool_report_job_run. The
worker-backed tests are tests/test_tool_report_jobs.py."""

from __future__ import annotations

from evidence.jobs import tool_report_job_run
from evidence.models import ToolReportJob


def queued_imports_run() -> list[ToolReportJob]:
    """Each queued tool report import run to its end, oldest first, as the worker would."""
    queued = ToolReportJob.objects.filter(status=ToolReportJob.Status.QUEUED).order_by("pk")
    return [job for pk in queued.values_list("pk", flat=True) if (job := tool_report_job_run(pk))]


def web_import(client, url: str, data: dict) -> str:
    """Upload through a kind's page, the import run, and the page the upload leads to (the
    job's page with the outcome, or the kind's page with the refusal): its text."""
    response = client.post(url, data)
    assert response.status_code == 302, response.status_code
    queued_imports_run()
    return client.get(response["Location"], follow=True).content.decode()


def kpi_report_after_imports(world, capture_on_commit, import_reports, *flags: str) -> dict:
    """Import the reports (`import_reports()`), check the import asked for Acme's recompute
    once it commits, recompute and answer `kpi_report` for 2025-Q3 as JSON (with `flags`)."""
    import io
    import json

    from django.core.management import call_command
    from django.db import connection

    from kpis.metrics.recompute import kpis_recompute

    # The shared world's own pending recompute of Acme (never run: its transaction is rolled
    # back) would hide the one the import asks for: one per client per transaction.
    connection.run_on_commit = [
        c for c in connection.run_on_commit if getattr(c[1], "recompute_client", None) is None
    ]
    with capture_on_commit() as callbacks:
        import_reports()
    assert any(getattr(c, "recompute_client", None) == world.acme.pk for c in callbacks)
    kpis_recompute(world.acme, full=True)
    out = io.StringIO()
    call_command(
        "kpi_report",
        "--client",
        world.acme.slug,
        "--period",
        "2025-Q3",
        "--format",
        "json",
        *flags,
        stdout=out,
    )
    return json.loads(out.getvalue())
