"""Real Chromium for browser tests: Debian's package, driven by Playwright, never a download.
The `browser` fixture lives in conftest.py; pages get a session cookie from `logged_in_page`
(the log-in form itself is tested in test_auth)."""

from __future__ import annotations

import shutil
from pathlib import Path

from django.test import Client

SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Debian's chromium, as root and offline: no sandbox, no calls home.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def logged_in_page(browser, live_server, user, width=1280, *, bypass_csp=False):
    """A page with the user's session cookie: the log-in form itself is tested in test_auth.
    `bypass_csp` lets a test inject its own script (axe-core) or evaluate expressions in the
    page, which the portal's Content-Security-Policy rightly refuses."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(
        viewport={"width": width, "height": 900}, accept_downloads=True, bypass_csp=bypass_csp
    )
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors


def tool_report_upload(page, path, preset: str, day: str, statement: str | None = None) -> str:
    """On a kind's tool report page: upload a report, follow its import's page until the worker
    has imported it (the page reloads when it ends), and return what that page says; the
    browser is then back on the kind's page."""
    kind_page = page.url
    page.set_input_files("#report-file", str(path))
    page.select_option("#report-preset", preset)
    page.fill("#report-date", day)
    if statement is not None:
        page.fill("#report-statement", statement)
    page.click("button:has-text('Import the report')")
    page.wait_for_url("**/tool-report-imports/*/")
    page.wait_for_selector("#done, #rejected", timeout=60_000)
    said = page.inner_text("main")
    page.goto(kind_page)
    return said
