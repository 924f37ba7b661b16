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
