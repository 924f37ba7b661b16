"""The security hygiene measures, hand-computed (evidence/hygiene.py): phishing simulations per
period (campaigns sent in it summed, click rate at most the limit, report rate at least the
target, a period without a campaign missed) and the technicians' MFA (the latest attestation
dated in the period, every listed technician with MFA, the MSP's statement). Plus the readers'
rules for the cells (evidence/hygiene_read.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evidence.hygiene import (
    Attestation,
    Campaign,
    PhishingRule,
    RecipientResult,
    TechnicianMfa,
    campaigns_from_recipients,
    mfa_measure,
    mfa_words,
    phishing_measure,
    phishing_rule_words,
    phishing_words,
)
from evidence.hygiene_presets import method_words, yes_no
from evidence.hygiene_read import whole_number

OCTOBER = (date(2025, 10, 1), date(2025, 10, 31))
Q4 = (date(2025, 10, 1), date(2025, 12, 31))
LIMIT_10 = PhishingRule(limit_percent=Decimal(10))

INVOICE = Campaign("Invoice lure", date(2025, 10, 6), 40, 3, 12, 1)  # 7.5 % clicked
RESET = Campaign("Password reset", date(2025, 10, 20), 60, 9, 6, None)  # 15 % clicked
SEPTEMBER = Campaign("Parcel notice", date(2025, 9, 30), 50, 50, 0)  # the day before October


def test_a_campaign_within_the_limit_keeps_the_period():
    # 3 / 40 = 7.5 % <= 10 %: kept; 12 / 40 = 30 % reported. September's campaign is not
    # October's.
    m = phishing_measure([INVOICE, SEPTEMBER], LIMIT_10, *OCTOBER)
    assert (m.recipients, m.clicked, m.reported, m.submitted) == (40, 3, 12, 1)
    assert (m.click_rate, m.report_rate, m.kept) == (0.075, 0.3, True)
    assert phishing_words(m.summary()) == (
        "1 campaign to 40 people: 3 clicked (7.5%), 12 reported (30%), 1 entered data"
    )


def test_campaigns_are_summed_and_one_over_the_limit_can_miss_the_period():
    # (3 + 9) / (40 + 60) = 12 / 100 = 12 % > 10 %: missed, though the invoice lure alone was
    # within it. Reported (12 + 6) / 100 = 18 %. Entered data: only the invoice lure says (1).
    m = phishing_measure([RESET, INVOICE], LIMIT_10, *OCTOBER)
    assert [c.campaign for c in m.campaigns] == ["Invoice lure", "Password reset"]
    assert (m.recipients, m.clicked, m.reported, m.submitted) == (100, 12, 18, 1)
    assert (m.click_rate, m.report_rate, m.kept) == (0.12, 0.18, False)
    assert phishing_words(m.summary()).startswith("2 campaigns to 100 people: 12 clicked (12%)")


def test_the_limit_itself_is_within_it_exactly():
    # 1 / 10 = 10 % exactly: kept (a float 0.1 * 100 would not compare exactly).
    exact = Campaign("Ten", date(2025, 10, 1), 10, 1, 0)
    assert phishing_measure([exact], LIMIT_10, *OCTOBER).kept is True
    # 1 / 3 = 33.33...% against a 33.33 % limit: over it.
    third = Campaign("Third", date(2025, 10, 1), 3, 1, 0)
    assert phishing_measure([third], PhishingRule(Decimal("33.33")), *OCTOBER).kept is False


def test_a_report_target_misses_a_period_within_the_click_limit():
    # Invoice lure: 7.5 % clicked (within 10 %) but 12 / 40 = 30 % reported < 40 %: missed;
    # at a 30 % target, 30 % reaches it: kept.
    rule = PhishingRule(limit_percent=Decimal(10), target_percent=Decimal(40))
    assert phishing_measure([INVOICE], rule, *OCTOBER).kept is False
    rule = PhishingRule(limit_percent=Decimal(10), target_percent=Decimal(30))
    assert phishing_measure([INVOICE], rule, *OCTOBER).kept is True


def test_a_period_without_a_campaign_is_missed():
    m = phishing_measure([SEPTEMBER], LIMIT_10, *OCTOBER)
    assert (m.campaigns, m.recipients, m.click_rate, m.report_rate, m.kept) == (
        [],
        0,
        None,
        None,
        False,
    )
    assert phishing_words(m.summary()) == "No phishing simulation was sent in this period."
    assert phishing_words(None) == "No phishing simulation report covers this period yet."


def test_a_campaign_with_no_recipient_has_no_rate_and_keeps_nothing():
    # 0 recipients: no rate (not 0 %), and nothing was tested: missed.
    empty = Campaign("Bounced", date(2025, 10, 2), 0, 0, 0)
    m = phishing_measure([empty], LIMIT_10, *OCTOBER)
    assert (m.click_rate, m.report_rate, m.kept) == (None, None, False)
    assert "0 clicked (—)" in phishing_words(m.summary())


def test_without_a_limit_any_campaign_keeps_the_period():
    m = phishing_measure([SEPTEMBER], PhishingRule(), date(2025, 9, 1), date(2025, 9, 30))
    assert (m.click_rate, m.kept) == (1.0, True)


def test_a_per_recipient_export_is_summed_per_campaign():
    # Invoice lure: 4 recipients (first delivered 6 Oct), 1 clicked, 2 reported, data entered
    # by none of the 2 that say; Reset: 1 recipient who clicked and entered data.
    results = [
        RecipientResult("Invoice lure", date(2025, 10, 7), False, True, False),
        RecipientResult("Invoice lure", date(2025, 10, 6), True, False, None),
        RecipientResult("Reset", date(2025, 10, 9), True, False, True),
        RecipientResult("Invoice lure", date(2025, 10, 6), False, True, False),
        RecipientResult("Invoice lure", date(2025, 10, 8), False, False, None),
    ]
    assert campaigns_from_recipients(results) == [
        Campaign("Invoice lure", date(2025, 10, 6), 4, 1, 2, 0),
        Campaign("Reset", date(2025, 10, 9), 1, 1, 0, 1),
    ]


def test_the_rule_in_words():
    assert phishing_rule_words(Decimal("10.00"), None) == (
        "a simulation sent each period, at most 10% of recipients clicking"
    )
    assert phishing_rule_words(None, Decimal("12.50")) == (
        "a simulation sent each period, at least 12.5% reporting it"
    )


campaigns = st.builds(
    lambda name, day, recipients, clicked_share, reported_share: Campaign(
        name,
        date(2025, 10, day),
        recipients,
        recipients * clicked_share // 100,
        recipients * reported_share // 100,
    ),
    st.sampled_from(["A", "B", "C"]),
    st.integers(1, 31),
    st.integers(0, 5000),
    st.integers(0, 100),
    st.integers(0, 100),
)


@given(st.lists(campaigns, max_size=8), st.integers(0, 100))
def test_rates_lie_in_0_1_and_are_the_sums_over_the_campaigns(sent, limit):
    m = phishing_measure(sent, PhishingRule(Decimal(limit)), *OCTOBER)
    recipients = sum(c.recipients for c in sent)
    assert m.recipients == recipients
    assert m.clicked == sum(c.clicked for c in sent)
    assert m.reported == sum(c.reported for c in sent)
    if recipients:
        assert 0 <= m.click_rate <= 1 and 0 <= m.report_rate <= 1
        assert m.kept == (Fraction(m.clicked, recipients) <= Fraction(limit, 100))
    else:
        assert m.click_rate is None and m.report_rate is None and m.kept is False


@given(st.lists(campaigns, max_size=8))
def test_splitting_a_period_splits_the_sums(sent):
    # The first half and the second half of October add up to October.
    whole = phishing_measure(sent, LIMIT_10, *OCTOBER)
    first = phishing_measure(sent, LIMIT_10, date(2025, 10, 1), date(2025, 10, 15))
    second = phishing_measure(sent, LIMIT_10, date(2025, 10, 16), date(2025, 10, 31))
    assert whole.recipients == first.recipients + second.recipients
    assert whole.clicked == first.clicked + second.clicked
    assert len(whole.campaigns) == len(first.campaigns) + len(second.campaigns)


# ---- MFA ---------------------------------------------------------------------------------

STATEMENT = "Every technician with access to your systems signs in with MFA."
ALL_MFA = [TechnicianMfa("Bea", True, "key"), TechnicianMfa("alex", True, "app")]
ONE_WITHOUT = [*ALL_MFA, TechnicianMfa("Carl", False)]


def test_every_technician_with_mfa_and_a_statement_keeps_the_quarter():
    m = mfa_measure([Attestation(date(2025, 11, 3), STATEMENT, ALL_MFA)], *Q4)
    assert (m.with_mfa, len(m.technicians), m.kept) == (2, 2, True)
    assert m.summary() == {
        "attested_on": "2025-11-03",
        "technicians": 2,
        "with_mfa": 2,
        "statement": True,
        "kept": True,
    }
    assert mfa_words(m.summary()) == "2 of 2 technicians sign in with MFA, attested 3 Nov 2025"


def test_a_technician_without_mfa_misses_it_and_is_listed_first():
    m = mfa_measure([Attestation(date(2025, 11, 3), STATEMENT, ONE_WITHOUT)], *Q4)
    assert [t.technician for t in m.technicians] == ["Carl", "alex", "Bea"]
    assert (m.with_mfa, m.kept) == (2, False)
    assert mfa_words(m.summary()).startswith("2 of 3 technicians sign in with MFA")


def test_the_latest_attestation_in_the_quarter_speaks_for_it():
    # October's list lacked Carl's MFA; December's says every one has it: kept. The January
    # one is the next quarter's; a second attestation of 1 Dec imported later wins the tie.
    attestations = [
        Attestation(date(2025, 10, 2), STATEMENT, ONE_WITHOUT, order=1),
        Attestation(date(2025, 12, 1), STATEMENT, ONE_WITHOUT, order=2),
        Attestation(date(2025, 12, 1), STATEMENT, ALL_MFA, order=3),
        Attestation(date(2026, 1, 5), STATEMENT, ONE_WITHOUT, order=4),
    ]
    m = mfa_measure(attestations, *Q4)
    assert (m.attestation.order, m.kept) == (3, True)


def test_no_attestation_in_the_quarter_misses_it():
    m = mfa_measure([Attestation(date(2025, 9, 30), STATEMENT, ALL_MFA)], *Q4)
    assert (m.attestation, m.technicians, m.kept) == (None, [], False)
    assert mfa_words(m.summary()) == "No MFA attestation is dated in this period."
    assert mfa_words(None) == "No MFA attestation covers this period yet."


def test_an_empty_list_or_no_statement_keeps_nothing():
    assert mfa_measure([Attestation(date(2025, 11, 3), STATEMENT, [])], *Q4).kept is False
    unsaid = mfa_measure([Attestation(date(2025, 11, 3), "  ", ALL_MFA)], *Q4)
    assert unsaid.kept is False
    assert mfa_words(unsaid.summary()).endswith("without the MSP's statement")


@given(st.lists(st.tuples(st.text(min_size=1, max_size=5), st.booleans()), max_size=10))
def test_kept_exactly_when_every_listed_technician_has_mfa(rows):
    technicians = [TechnicianMfa(name, mfa) for name, mfa in rows]
    m = mfa_measure([Attestation(date(2025, 11, 3), STATEMENT, technicians)], *Q4)
    assert m.kept == (bool(rows) and all(mfa for _, mfa in rows))
    assert m.with_mfa == sum(mfa for _, mfa in rows)
    # Those without MFA come first.
    flags = [t.mfa for t in m.technicians]
    assert flags == sorted(flags)


# ---- The readers' cells ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("Yes", True),
        ("TRUE", True),
        ("Enabled", True),
        ("x", True),
        ("No", False),
        ("false", False),
        ("Not registered", False),
        ("", False),
        ("maybe", None),
        ("pending", None),
    ],
)
def test_yes_and_no_words(text, answer):
    assert yes_no(text) is answer


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("12", 12),
        ("1,200", 1200),
        ("1 200", 1200),
        ("12.0", 12),
        ("ten", None),
        ("7.5", None),
        # Past the database's integer, or 400 digits: not a count (a problem naming the row),
        # never a crash of the upload.
        ("2147483647", 2147483647),
        ("3000000000", None),
        ("9" * 400, None),
        ("9" * 400 + ".0", None),
    ],
)
def test_counts_as_tools_write_them(text, count):
    assert whole_number(text) == count


def test_entra_method_keys_are_said_in_words():
    assert method_words("microsoftAuthenticatorPush, softwareOneTimePasscode") == (
        "Microsoft Authenticator (push), authenticator app code"
    )
    assert method_words("none") == "" and method_words("Hardware key") == "Hardware key"
