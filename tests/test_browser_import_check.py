"""Issue #20 in real Chromium: the mapping page is a check of what will be stored, with the
Import button beside its summary and not at the bottom of a long page; a file holding two
companies sends each to its client or leaves it as problems; a file that is no table says so
without a progress bar. A real Celery worker runs the imports."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker

from kpis.models import CompanyRoute, ImportJob, Ticket
from msp_portal.celery import app

from .browser import CHROMIUM, SCREENSHOTS, logged_in_page

SAMPLES = Path(__file__).parent / "data" / "samples"
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
    pytest.mark.django_db(transaction=True),
]


def upload(page, live_server, target_label: str, path: Path) -> None:
    page.goto(f"{live_server.url}/imports/new/")
    page.select_option("#target", label=target_label)
    page.set_input_files("#file", str(path))
    page.click("text=Upload and map columns")


def test_the_summary_and_the_import_button_are_the_first_thing_seen(world, live_server, browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page, errors = logged_in_page(browser, live_server, world.msp_staff)
    page.set_viewport_size({"width": 1366, "height": 768})
    target = f"{world.acme.name} (from {world.northwind.name})"
    upload(page, live_server, target, SAMPLES / "connectwise_service_tickets.csv")
    page.wait_for_url("**/mapping/")

    summary, button = page.locator("#summary"), page.locator("button[value=confirm]")
    s, b = summary.bounding_box(), button.bounding_box()
    # Both inside the first screen, without scrolling, and side by side.
    assert s["y"] + s["height"] <= 768 and b["y"] + b["height"] <= 768, (s, b)
    assert b["x"] >= s["x"] + s["width"] and b["y"] < s["y"] + s["height"], (s, b)
    fact = lambda name: page.locator(f"[data-fact={name}]").inner_text()  # noqa: E731
    assert fact("rows") == "2,079"
    assert fact("tickets").startswith("2,077")  # a repeated ticket, a row with a bad date
    assert "1 row with errors will be skipped" in fact("tickets")
    assert fact("dates") == "1 Jul 2025 to 30 Jun 2026 (America/Chicago)"
    assert fact("companies").startswith(f"“Acme Dental Group” → {world.acme.name}")
    assert fact("unmapped") == "none"
    # The first rows as stored: the naive times of the export read in the client's zone.
    first = page.locator("table.parsed tbody tr").first
    assert first.locator("td[data-label=Created] .stored").inner_text().startswith("→ ")
    assert first.locator("td[data-label=Priority] .stored").inner_text() in (
        "→ P1", "→ P2", "→ P3", "→ P4",
    )  # fmt: skip
    # Value sections carry the file's column names.
    assert page.locator("#values-origin h2").inner_text() == "Values of “Source”"
    page.screenshot(path=str(SCREENSHOTS / "import-check.png"))
    page.screenshot(path=str(SCREENSHOTS / "import-check-full.png"), full_page=True)

    # On a phone the button comes right after the summary, long before the columns.
    page.set_viewport_size({"width": 390, "height": 844})
    b = button.bounding_box()
    layout = page.locator("h2", has_text="Layout").bounding_box()
    assert b["y"] < layout["y"] and b["y"] + b["height"] < 2 * 844, b
    page.screenshot(path=str(SCREENSHOTS / "import-check-phone.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert errors == []


def two_company_file(tmp_path: Path) -> tuple[Path, int]:
    """The ConnectWise sample with its first 100 tickets under another company's name."""
    text = (SAMPLES / "connectwise_service_tickets.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    for row in rows[1:101]:
        row[1] = "Zenith Dental"
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    path = tmp_path / "two-companies.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path, 100


def test_each_company_goes_to_its_client_and_a_skipped_one_nowhere(
    world, live_server, browser, tmp_path
):
    """Uploaded for Birch & Cole (the wrong client, as in the issue): Acme Dental Group's rows
    still go to Acme, and Zenith Dental, skipped, leaves its rows as problems."""
    path, zenith_rows = two_company_file(tmp_path)
    page, errors = logged_in_page(browser, live_server, world.msp_staff)
    page.set_viewport_size({"width": 1366, "height": 768})
    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        upload(page, live_server, f"{world.birch.name} (from {world.northwind.name})", path)
        page.wait_for_url("**/mapping/")
        acme = page.locator("#companies tr", has=page.locator("label", has_text="Acme Dental"))
        zenith = page.locator("#companies tr", has=page.locator("label", has_text="Zenith"))
        # Acme is recognised by its name; Zenith is nobody's yet, and the summary says so.
        assert acme.locator("select option:checked").inner_text() == world.acme.name
        assert zenith.locator("select option:checked").inner_text() == "— choose a client —"
        assert "100 with no client chosen" in page.locator("[data-fact=companies]").inner_text()
        page.click("button[value=confirm]")
        assert "for “Zenith Dental”" in page.locator("#companies-error").inner_text()
        assert page.locator("#mapping-errors a[href='#companies']").count() == 1
        page.screenshot(path=str(SCREENSHOTS / "import-companies-unchosen.png"))

        zenith.locator("select").select_option(label="Skip these tickets")
        page.click("button[value=preview]")
        assert "100 skipped" in page.locator("[data-fact=companies]").inner_text()
        page.screenshot(path=str(SCREENSHOTS / "import-companies.png"), full_page=True)
        page.click("button[value=confirm]")
        page.wait_for_selector("#done", timeout=60_000)
        page.screenshot(path=str(SCREENSHOTS / "import-companies-done.png"), full_page=True)

    job = ImportJob.objects.get()
    assert job.status == "done" and job.client == world.birch
    assert not Ticket.objects.filter(client=world.birch).exists()
    # Rows 2 to 101 are Zenith's; row 27 (a date that does not exist) is refused before any
    # company is looked at, and row 12's ticket, repeated at row 2080 under Acme, is Acme's.
    zenith = [row for row in range(2, 2 + zenith_rows) if row != 27]
    assert Ticket.objects.filter(client=world.acme).count() == 2079 - zenith_rows
    skipped = job.problems.filter(value="Zenith Dental")
    assert {(p.column, p.severity) for p in skipped} == {("Company", "error")}
    assert sorted(skipped.values_list("row", flat=True)) == zenith
    assert "skipped in the mapping" in skipped.first().reason
    # Remembered for Northwind's next export: Acme to Acme, Zenith skipped.
    routes = {r.company: r.client for r in CompanyRoute.objects.filter(msp=world.northwind)}
    assert routes == {"Acme Dental Group": world.acme, "Zenith Dental": None}
    assert page.locator("[data-field=rejected]").inner_text() == "100"
    assert errors == []


def test_a_file_that_is_no_table_says_so_without_a_progress_bar(
    world, live_server, browser, tmp_path
):
    png = tmp_path / "tickets.csv"  # an image renamed .csv
    png.write_bytes(
        bytes.fromhex(
            "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
            "1f15c4890000000d49444154789c63600000000200015e2c8e0a0000000049454e44ae426082"
        )
    )
    page, errors = logged_in_page(browser, live_server, world.msp_staff)
    upload(page, live_server, f"{world.acme.name} (from {world.northwind.name})", png)
    page.wait_for_url("**/imports/*/")
    assert page.locator("#rejected h2").inner_text() == "This file was not imported"
    assert "tickets.csv: is a PNG image, not a table" in page.locator("#rejected").inner_text()
    assert page.locator("progress").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "import-not-a-table.png"), full_page=True)
    assert errors == []
