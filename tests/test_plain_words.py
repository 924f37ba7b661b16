"""The words pages use for figures (pure): risks by device, person and category, never a
fingerprint; durations in hours, then days past 24 h; money with two decimals and its
currency; a ticket's state said once."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from kpis.metrics.repeats import fingerprint
from kpis.metrics.risk_words import risk_name, risk_words
from msp_portal.units import duration, money, state_once


def _fingerprint_of(**ticket) -> str:
    row = {"title": "", "category": "", "configuration_item": "", "requester": "", **ticket}
    return pl.DataFrame([row]).select(fingerprint())["fingerprint"][0]


def test_a_device_risk_reads_as_the_device_its_category_and_its_count():
    fp = _fingerprint_of(configuration_item="SRV-FILE01", category="Backup")
    assert fp == "ci:srv-file01|backup"
    assert risk_words(fp, 11, "2026-01-06T09:00:00Z", "2026-03-02T10:00:00Z") == (
        "SRV-FILE01 — backup, 11 incidents since 6 Jan"
    )


def test_a_person_risk_reads_as_their_name():
    fp = _fingerprint_of(requester="eli.lopez", category="Accounts")
    assert risk_words(fp, 4, date(2025, 11, 3), date(2026, 1, 9)) == (
        "Eli Lopez — accounts, 4 incidents since 3 Nov 2025"
    )
    assert risk_name("user:eli.lopez@acme.example|email") == ("Eli Lopez", "email")
    assert risk_name("user:dr maria chen|imaging") == ("Dr Maria Chen", "imaging")


def test_a_title_risk_quotes_the_problem_without_the_digit_marks():
    fp = _fingerprint_of(title="Printer 3 offline", category="Network")
    assert risk_words(fp, 1) == "“printer offline” — network, 1 incident"


def test_an_unknown_fingerprint_is_shown_whole():
    assert risk_name("something else") == ("something else", "")


@given(
    item=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=20),
    category=st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", max_size=15),
    count=st.integers(min_value=1, max_value=10_000),
    kind=st.sampled_from(["ci", "user"]),
)
def test_no_risk_reads_as_a_fingerprint(item, category, count, kind):
    words = risk_words(f"{kind}:{item}|{category}", count, "2026-02-01")
    assert not re.search(r"\b(ci|user|title):", words) and "|" not in words
    assert f"{count} incident" in words and words.endswith("since 1 Feb 2026")


def test_durations_read_in_minutes_hours_then_days():
    assert duration(42) == "42 min"
    assert duration(135) == "2 h 15 min"
    assert duration(600) == "10 h"
    assert duration(1440) == "1 day"
    assert duration(3000) == "2 days 2 h"
    assert duration(60 * 24 * 10) == "10 days"


@given(st.floats(min_value=0, max_value=10_000_000, allow_nan=False))
def test_a_duration_never_says_more_than_24_hours_or_thousands_of_minutes(minutes):
    text = duration(minutes)
    numbers = [int(n) for n in re.findall(r"\d+", text)]
    assert "," not in text
    if "day" in text:
        assert len(numbers) == 1 or numbers[1] < 24
    elif text.endswith(" h") or " h " in text:
        assert numbers[0] < 24
    else:
        assert text.endswith(" min") and numbers[0] < 60


def test_money_has_two_decimals_and_its_currency():
    assert money(841.0, "USD") == "USD 841.00"
    assert money(Decimal("1234.5"), "EUR") == "EUR 1,234.50"
    assert money(None, "USD") == "—"
    assert money("not money", "USD") == "—"


@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False))
def test_any_amount_reads_back_as_itself_to_the_cent(amount):
    text = money(amount, "GBP")
    assert text.startswith("GBP ")
    number = text.removeprefix("GBP ")
    assert re.fullmatch(r"\d{1,3}(,\d{3})*\.\d{2}", number)
    assert Decimal(number.replace(",", "")) == amount


def test_a_state_is_said_once():
    assert state_once("Closed", "Closed (resolved)") == "Closed"
    assert state_once("Closed", "closed") == "Closed"
    assert state_once("Paused", "Awaiting customer") == "Paused (Awaiting customer)"
    assert state_once("", "Gone") == "Gone"
    assert state_once("", "") == "—"
