"""Security hygiene, measured: phishing simulations (a campaign sent each period, its click rate
at most the limit, its report rate at least the target) and the technicians' MFA (the period's
attestation lists every technician with MFA). Pure: plain dataclasses in, numbers out, no ORM
(evidence/hygiene_services.py fetches and stores).

Decisions (docs/evidence.md says why):
- A campaign belongs to the period in which it was sent. The period's rates are over all its
  campaigns summed (a small campaign does not weigh as much as a large one).
- A period with no campaign is missed: the simulation the contract promises was not run.
- The rates compare exactly (fractions): 1 click in 10 recipients is 10 %, within a 10 % limit.
- MFA: the latest attestation dated inside the period speaks for it. It keeps the period when
  it lists at least one technician, every one of them with MFA, and carries the MSP's
  statement; a period without an attestation is missed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

# ---- Phishing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Campaign:
    """One phishing-simulation campaign's results."""

    campaign: str
    sent_on: date
    recipients: int
    clicked: int
    reported: int
    submitted: int | None = None


@dataclass(frozen=True)
class PhishingRule:
    """At most `limit_percent` of recipients click; at least `target_percent` report (None:
    not promised)."""

    limit_percent: Decimal | None = None
    target_percent: Decimal | None = None


@dataclass(frozen=True)
class PhishingMeasure:
    campaigns: list[Campaign]
    recipients: int
    clicked: int
    reported: int
    submitted: int | None
    kept: bool

    @property
    def click_rate(self) -> float | None:
        return rate(self.clicked, self.recipients)

    @property
    def report_rate(self) -> float | None:
        return rate(self.reported, self.recipients)

    def summary(self) -> dict:
        """What the occurrence stores: the figures without the rows."""
        return {
            "campaigns": len(self.campaigns),
            "recipients": self.recipients,
            "clicked": self.clicked,
            "reported": self.reported,
            "submitted": self.submitted,
            "click_rate": self.click_rate,
            "report_rate": self.report_rate,
            "kept": self.kept,
        }


def rate(part: int, whole: int) -> float | None:
    """part / whole, or None when there is no whole (no recipient: no rate, not 0 %)."""
    return part / whole if whole else None


def _share_vs(part: int, whole: int, percent: Decimal) -> int:
    """-1, 0 or 1 as part / whole is below, at or above percent %, compared exactly."""
    share, bound = Fraction(part, whole), Fraction(percent) / 100
    return (share > bound) - (share < bound)


def phishing_measure(
    campaigns: list[Campaign], rule: PhishingRule, first_day: date, last_day: date
) -> PhishingMeasure:
    """The campaigns sent in [first_day, last_day], summed and judged against the rule."""
    sent = sorted(
        (c for c in campaigns if first_day <= c.sent_on <= last_day),
        key=lambda c: (c.sent_on, c.campaign),
    )
    recipients = sum(c.recipients for c in sent)
    clicked = sum(c.clicked for c in sent)
    reported = sum(c.reported for c in sent)
    known = [c.submitted for c in sent if c.submitted is not None]
    kept = bool(sent) and recipients > 0
    if kept and rule.limit_percent is not None:
        kept = _share_vs(clicked, recipients, rule.limit_percent) <= 0
    if kept and rule.target_percent is not None:
        kept = _share_vs(reported, recipients, rule.target_percent) >= 0
    return PhishingMeasure(
        campaigns=sent,
        recipients=recipients,
        clicked=clicked,
        reported=reported,
        submitted=sum(known) if known else None,
        kept=kept,
    )


@dataclass(frozen=True)
class RecipientResult:
    """One recipient of a campaign, from a per-recipient export."""

    campaign: str
    sent_on: date
    clicked: bool
    reported: bool
    submitted: bool | None = None


def campaigns_from_recipients(results: list[RecipientResult]) -> list[Campaign]:
    """A per-recipient export summed per campaign: recipients are its rows, clicked and
    reported those that did; a campaign is dated by its first delivery."""
    grouped: dict[str, list[RecipientResult]] = {}
    for r in results:
        grouped.setdefault(r.campaign, []).append(r)
    campaigns = []
    for name, rows in grouped.items():
        known = [r.submitted for r in rows if r.submitted is not None]
        campaigns.append(
            Campaign(
                campaign=name,
                sent_on=min(r.sent_on for r in rows),
                recipients=len(rows),
                clicked=sum(r.clicked for r in rows),
                reported=sum(r.reported for r in rows),
                submitted=sum(known) if known else None,
            )
        )
    return sorted(campaigns, key=lambda c: (c.sent_on, c.campaign))


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}".removesuffix(".0") + "%"


def phishing_words(summary: dict | None) -> str:
    """A stored measure as a person reads it: "1 campaign to 40 people: 3 clicked (7.5%),
    12 reported (30%)"."""
    if summary is None:
        return "No phishing simulation report covers this period yet."
    n = summary["campaigns"]
    if n == 0:
        return "No phishing simulation was sent in this period."
    people = summary["recipients"]
    words = (
        f"{n} campaign{'s' if n != 1 else ''} to {people} "
        f"{'person' if people == 1 else 'people'}: "
        f"{summary['clicked']} clicked ({_percent(summary['click_rate'])}), "
        f"{summary['reported']} reported ({_percent(summary['report_rate'])})"
    )
    if summary.get("submitted"):
        words += f", {summary['submitted']} entered data"
    return words


def phishing_rule_words(limit_percent, target_percent) -> str:
    """The rule as the commitments page states it."""
    words = "a simulation sent each period"
    if limit_percent is not None:
        words += f", at most {Decimal(limit_percent).normalize():f}% of recipients clicking"
    if target_percent is not None:
        words += f", at least {Decimal(target_percent).normalize():f}% reporting it"
    return words


# ---- Technician MFA ----------------------------------------------------------------------


@dataclass(frozen=True)
class TechnicianMfa:
    technician: str
    mfa: bool
    method: str = ""


@dataclass(frozen=True)
class Attestation:
    """One MFA attestation: the list of technicians as of `attested_on`, and the MSP's
    statement. `order` breaks ties between two attestations of one day (the later import)."""

    attested_on: date
    statement: str
    technicians: list[TechnicianMfa]
    order: int = 0


@dataclass(frozen=True)
class MfaMeasure:
    attestation: Attestation | None
    # Technicians without MFA first, then by name.
    technicians: list[TechnicianMfa]
    with_mfa: int
    kept: bool

    def summary(self) -> dict:
        a = self.attestation
        return {
            "attested_on": a.attested_on.isoformat() if a else None,
            "technicians": len(self.technicians),
            "with_mfa": self.with_mfa,
            "statement": bool(a and a.statement.strip()),
            "kept": self.kept,
        }


def mfa_measure(attestations: list[Attestation], first_day: date, last_day: date) -> MfaMeasure:
    """The latest attestation dated in [first_day, last_day] judged; missed without one."""
    inside = [a for a in attestations if first_day <= a.attested_on <= last_day]
    if not inside:
        return MfaMeasure(attestation=None, technicians=[], with_mfa=0, kept=False)
    latest = max(inside, key=lambda a: (a.attested_on, a.order))
    technicians = sorted(latest.technicians, key=lambda t: (t.mfa, t.technician.lower()))
    with_mfa = sum(t.mfa for t in technicians)
    return MfaMeasure(
        attestation=latest,
        technicians=technicians,
        with_mfa=with_mfa,
        kept=bool(technicians) and with_mfa == len(technicians) and bool(latest.statement.strip()),
    )


def mfa_words(summary: dict | None) -> str:
    """ "3 of 4 technicians sign in with MFA, attested 2 Oct 2025"."""
    if summary is None:
        return "No MFA attestation covers this period yet."
    if summary["attested_on"] is None:
        return "No MFA attestation is dated in this period."
    n = summary["technicians"]
    day = date.fromisoformat(summary["attested_on"])
    attested = f"attested {day.day} {day:%b %Y}"
    if n == 0:
        return f"The attestation lists no technician, {attested}"
    words = f"{summary['with_mfa']} of {n} technician{'s' if n != 1 else ''} sign in with MFA"
    if not summary["statement"]:
        attested += " without the MSP's statement"
    return f"{words}, {attested}"
