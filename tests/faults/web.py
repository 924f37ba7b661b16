"""The browser's side of a fault test: a session that logs in and posts the upload and mapping
forms as a person would."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import requests
from django.conf import settings
from django.test import Client


class _Form(HTMLParser):
    """The fields of a page's form as a browser would submit them unchanged."""

    def __init__(self):
        super().__init__()
        self.fields, self._select = {}, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "file"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.setdefault(a["name"], []).append(a.get("value", ""))
        elif tag == "select":
            self._select = a.get("name")
            self.fields.setdefault(self._select, [])
        elif tag == "option" and self._select and "selected" in a:
            self.fields[self._select] = [a.get("value", "")]

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def browser_for(user, base: str) -> requests.Session:
    """A logged-in browser session (the session row is in the database both processes share)."""
    c = Client()
    c.force_login(user)
    session = requests.Session()
    session.cookies.set(settings.SESSION_COOKIE_NAME, c.cookies[settings.SESSION_COOKIE_NAME].value)
    session.base = base
    return session


def form_of(page: str) -> dict:
    parser = _Form()
    parser.feed(page)
    return parser.fields


def browser_upload(browser, sample: Path, target: str, timings: dict | None = None):
    """Upload `sample` for `target` through the form and confirm the mapping the page proposes,
    as a person would: the page the confirmation lands on. `timings` gets the seconds each
    response took, by request ("POST /imports/new/"; a redirect is a request of its own)."""
    web = browser.base

    def step(method: str, url: str, **kwargs) -> requests.Response:
        response = browser.request(method, url, timeout=60, **kwargs)
        if timings is not None:
            for answer in [*response.history, response]:
                path = answer.request.path_url
                timings[f"{answer.request.method} {path}"] = answer.elapsed.total_seconds()
        return response

    page = step("GET", f"{web}/imports/new/")
    assert page.status_code == 200
    fields = form_of(page.text)
    upload = step(
        "POST",
        f"{web}/imports/new/",
        data={"csrfmiddlewaretoken": fields["csrfmiddlewaretoken"][0], "target": target},
        files={"file": (sample.name, sample.read_bytes(), "text/csv")},
        headers={"Referer": f"{web}/imports/new/"},
    )
    assert upload.status_code == 200 and "/mapping/" in upload.url, upload.text[:500]
    data = form_of(upload.text) | {"action": ["confirm"]}
    confirmed = step("POST", upload.url, data=data, headers={"Referer": upload.url})
    assert confirmed.status_code == 200, confirmed.text[:1000]  # never a 500
    return confirmed


# The longest a page of the upload may take while Redis accepts connections and never answers:
# a few cache calls of CACHE_SOCKET_TIMEOUT_SECONDS (2 s) and at most one publish, which gives up
# after three BROKER_SOCKET_TIMEOUT_SECONDS (3 s each; RELIABILITY.md).
HUNG_BROKER_SECONDS = 20
