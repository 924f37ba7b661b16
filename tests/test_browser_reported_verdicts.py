"""In real Chromium: the mapping page offers the MSP's own verdict columns in plain words, lists
their values, and a value the guesses cannot read is given its meaning there; the import stores
the verdicts with the raw text, and the ticket's page shows them beside the portal's."""

from __future__ import annotations

import pytest
from celery.contrib.testing.worker import start_worker

from kpis.models import ImportJob, Ticket
from msp_portal.celery import app

from .browser import CHROMIUM, SCREENSHOTS, logged_in_page

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
    pytest.mark.django_db(transaction=True),
]

EXPORT = (
    "Ticket,Opened,First Response,Resolved,Priority,Response SLA Met,Resolution SLA Met\n"
    "V-1,2025-09-02 10:00,2025-09-02 10:10,2025-09-02 11:00,P1,Within SLA,Grace period\n"
    "V-2,2025-09-02 10:00,2025-09-02 11:00,2025-09-02 18:00,P1,SLA Violated,SLA Violated\n"
)


def test_staff_map_the_msps_verdicts_and_the_owner_reads_them_on_the_ticket(
    world, live_server, browser, tmp_path
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    export = tmp_path / "verdicts.csv"
    export.write_text(EXPORT)
    page, errors = logged_in_page(browser, live_server, world.msp_staff, bypass_csp=True)
    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        page.goto(f"{live_server.url}/imports/new/")
        page.select_option("#target", label=f"{world.acme.name} (from {world.northwind.name})")
        page.set_input_files("#file", str(export))
        page.click("text=Upload and map columns")
        page.wait_for_url("**/mapping/")
        # The two columns under their plain labels, found by the generic preset.
        label = page.locator("label[for=col__reported_resolution_met]")
        assert label.inner_text() == "The MSP's resolution verdict"
        assert page.locator("#col__reported_response_met").input_value() == "Response SLA Met"
        assert page.locator("#col__reported_resolution_met").input_value() == "Resolution SLA Met"
        # Their values, each with its meaning; the one no guess reads is unmapped.
        section = page.locator("#values-reported_resolution_met")
        assert "the MSP's own resolution verdict (met or breached)" in section.inner_text()
        grace = section.locator("tr", has=page.locator("label", has_text="Grace period"))
        assert grace.locator("select").input_value() == ""
        violated = section.locator("tr", has=page.locator("label", has_text="SLA Violated"))
        assert violated.locator("select").input_value() == "breached"
        page.screenshot(path=str(SCREENSHOTS / "import-mapping-verdicts.png"), full_page=True)
        grace.locator("select").select_option("met")
        page.select_option("#date_order", "ymd")
        page.click("button[value=confirm]")
        page.wait_for_url("**/imports/*/")
        page.wait_for_function(
            "document.querySelector('[data-field=status_label]').textContent.trim() === 'Done'",
            timeout=60_000,
        )

    job = ImportJob.objects.get()
    assert job.mapping["values"]["reported_resolution_met"]["grace period"] == "met"
    assert job.problems.count() == 0
    one = Ticket.objects.get(client=world.acme, external_id="V-1")
    assert (one.reported_resolution_met, one.reported_resolution_raw) == (True, "Grace period")
    assert (one.reported_response_met, one.reported_response_raw) == (True, "Within SLA")

    # Acme's P1 is 30 minutes to respond, 240 to resolve, around the clock: V-2 answered in 60
    # minutes and resolved in 480 is breached on both, as its tool says too.
    owner_page, owner_errors = logged_in_page(browser, live_server, world.owner)
    two = Ticket.objects.get(client=world.acme, external_id="V-2")
    owner_page.goto(f"{live_server.url}/clients/{world.acme.slug}/tickets/{two.pk}/")
    clocks = owner_page.locator("section[aria-labelledby=clock-heading]").inner_text()
    assert clocks.count("The MSP's tool says: breached") == 2
    assert "not what the portal measured" not in clocks
    owner_page.screenshot(path=str(SCREENSHOTS / "ticket-reported-verdicts.png"), full_page=True)
    assert errors == [] and owner_errors == []
