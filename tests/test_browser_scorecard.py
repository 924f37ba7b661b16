"""In real Chromium: Clearview's advisor opens Acme's provider scorecard, mistypes the weights
and gets them back with the total named, stores weights that add to 100%, adds Harbor Managed
IT, answers two of its questions (one with an evidence file) and reads the comparison: Northwind
scored from Acme's measured quarters, Harbor from its answers, each weighted total worked out
by hand below. No console error. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import subprocess

import pytest
from django.urls import reverse

from scorecard.demo import demo_scorecard_ensure
from scorecard.models import Assessment

from .browser import CHROMIUM, SCREENSHOTS, logged_in_page
from .reviews_support import needs_pdf_tools
from .scorecard_support import WEIGHTS, governance_history, measured_quarters, scored_world
from .test_accessibility import serious_violations

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
    pytest.mark.django_db(transaction=True),
]


def test_the_advisor_weighs_answers_and_reads_the_comparison(world, browser, live_server, tmp_path):
    measured_quarters(world)
    governance_history(world)
    page, errors = logged_in_page(browser, live_server, world.advisor)
    page.goto(f"{live_server.url}{reverse('client_dashboard', args=[world.acme.slug])}")
    page.click("nav.subnav >> text=Provider scorecard")
    page.click("text=The weights and the candidates")
    page.wait_for_selector('h1:has-text("Provider scorecard")')

    titles = {
        "operating_model": "Operating model",
        "responsiveness": "Responsiveness",
        "security": "Security practice",
        "documentation": "Documentation and transparency",
        "governance": "Governance",
        "fit": "Fit for size and complexity",
    }
    for key, title in titles.items():
        page.get_by_label(title).fill(str(WEIGHTS[key]))
    page.get_by_label("Governance").fill("5")
    page.click("button:has-text('Store the weights')")
    page.wait_for_selector("text=The weights add to 95%; they must add to 100%.")
    assert page.get_by_label("Governance").input_value() == "5"  # what was typed stays
    page.get_by_label("Governance").fill("10")
    page.click("button:has-text('Store the weights')")
    page.wait_for_selector("text=The weights are stored.")
    assert Assessment.objects.get(client=world.acme).weights == WEIGHTS

    page.get_by_label("Add a provider to compare").fill("Harbor Managed IT")
    page.click("button:has-text('Add the provider')")
    page.wait_for_selector('h1:has-text("Harbor Managed IT: answers")')
    evidence = tmp_path / "Harbor MFA policy.pdf"
    evidence.write_bytes(b"%PDF-1.4 Harbor's technician MFA policy")
    mfa = page.locator("fieldset", has_text="multi-factor authentication")
    mfa.get_by_label("Yes").check()
    page.set_input_files("#evidence-mfa", str(evidence))
    page.locator("fieldset", has_text="Serves clients of a similar size").get_by_label(
        "Partly"
    ).check()
    page.click("button:has-text('Store the answers')")
    page.wait_for_selector('h1:has-text("Provider comparison")')
    page.screenshot(path=str(SCREENSHOTS / "scorecard-comparison.png"), full_page=True)
    text = page.inner_text("main")
    assert "2 answer(s) of Harbor Managed IT stored." in text
    assert "measured: Resolution SLA compliance 66.7% over 2026-Q1–Q2" in text
    assert "Every technician signs in with multi-factor authentication: answered yes, evidence" in (
        text
    )
    # Northwind: 4.3, 2.7, 0 (no answers), matrix waiting 2 with two unanswered 0.7, 3.0, 0:
    # (20 × 4.3 + 30 × 2.7 + 10 × 0.7 + 10 × 3.0) / 100 = (86 + 81 + 7 + 30) / 100 = 2.04.
    # Harbor: security 5 of 25 = 1.0, fit 2 of 15 = 0.7: (20 × 1.0 + 10 × 0.7) / 100 = 0.27.
    assert "Weighted total\t2.04 of 5\t0.27 of 5" in text
    assert errors == []


def test_the_scorecard_pages_have_no_serious_accessibility_violations(world, browser, live_server):
    _assessment, _incumbent, harbor = scored_world(world)
    slug = world.acme.slug
    pages = {
        "weights and candidates": reverse("scorecard", args=[slug]),
        "answers": reverse("scorecard_candidate", args=[slug, harbor.pk]),
        "comparison": reverse("scorecard_compare", args=[slug]),
    }
    page, errors = logged_in_page(browser, live_server, world.advisor, bypass_csp=True)
    found = {}
    for name, url in pages.items():
        page.goto(live_server.url + url)
        found[name] = serious_violations(page)
    assert found == {name: [] for name in pages}
    assert errors == []


@needs_pdf_tools
def test_the_owner_reads_the_demo_scorecard_and_downloads_its_pdf(world, browser, live_server):
    """The demo's step (Northwind beside Harbor Managed IT) as Acme's owner sees it, and the PDF
    the page's button downloads, read back with pdftotext."""
    demo_scorecard_ensure(world.advisor)
    page, errors = logged_in_page(browser, live_server, world.owner)
    page.goto(f"{live_server.url}{reverse('scorecard_compare', args=[world.acme.slug])}")
    text = page.inner_text("main")
    assert "Northwind IT Services" in text and "Harbor Managed IT" in text
    assert "Newcomer: answers only" in text
    # Harbor's sector answer, with its note, as the demo gives it: no is 0.
    assert (
        "Knows the client's sector and its business applications: answered no, no evidence "
        "attached (No dental clients yet) (0 of 5)"
    ) in text
    with page.expect_download() as download:
        page.click("text=Download the comparison as a PDF")
    saved = download.value.path()
    assert download.value.suggested_filename == "provider-scorecard-acme-dental.pdf"
    pdf_text = subprocess.run(
        ["pdftotext", str(saved), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Harbor Managed IT" in pdf_text and "Weighted total" in pdf_text
    assert errors == []


def test_the_incumbents_measured_history_is_drawn(world, browser, live_server):
    """The comparison page draws Northwind's measured rates per quarter (2026-Q1 and Q2, as
    tests/test_scorecard_history.py works them out) as a Plotly chart beside its table."""
    scored_world(world)
    page, errors = logged_in_page(browser, live_server, world.owner)
    page.goto(f"{live_server.url}{reverse('scorecard_compare', args=[world.acme.slug])}")
    page.wait_for_selector("#chart-history svg.main-svg")
    assert page.locator("#chart-history .xtick text").all_text_contents() == ["2026-Q1", "2026-Q2"]
    assert page.locator("#chart-history .scatterlayer .trace").count() == 4
    assert page.locator("#chart-history .legendtext").all_text_contents() == [
        "Response SLA compliance",
        "Resolution SLA compliance",
        "Proactive detection",
        "Repeat incidents",
    ]
    assert errors == []
