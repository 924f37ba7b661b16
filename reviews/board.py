"""The board pack's own reading of a review: the RAG scorecard and its one-sentence verdict, the
credits as one total, recurring risks named in plain words, suggested recommendations and the
sections a review would print empty. Pure: the review's content dict in, words and rows out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from contracts.templatetags.portal import figure_value
from kpis.metrics.registry import KPI
from kpis.metrics.risk_words import risk_name as fingerprint_words

NO_TARGET = "no target in the contract"
# A missed target within this share of it is amber ("close"), further is red.
AMBER_MARGIN = 0.05
LETTER_COUNTRIES = {"US", "CA"}
RISKS_SUGGESTED = 3


def measure_label(key: str) -> str:
    """A KPI's name for people: 'resolution.compliance' → 'Resolution SLA compliance'."""
    kpi = KPI.get(key)
    return kpi.label if kpi is not None else key.replace("_", " ").replace(".", " ")


def paper_for(country: str) -> str:
    """Letter in the United States and Canada, A4 everywhere else (and when nobody said)."""
    return "Letter" if country.upper() in LETTER_COUNTRIES else "A4"


def risk_name(fingerprint: str) -> str:
    """A recurring risk as people name it: 'ci:nas-01|security' → 'NAS-01 — security' (the
    one reading of a fingerprint, kpis/metrics/risk_words.py, that the dashboard uses too)."""
    name, category = fingerprint_words(fingerprint)
    return f"{name} — {category}" if category else name


def _shown(value, unit: str) -> str:
    """As the key figures table shows it, so the two pages never disagree."""
    return figure_value(value, unit)


def _rag(value, target, better: str) -> str:
    """green (met), amber (missed by at most 5% of the target), red (missed by more), none."""
    if target is None or value is None:
        return "none"
    met = value >= target if better == "higher" else value <= target
    if met:
        return "green"
    gap = abs(value - target) / abs(target) if target else 1.0
    return "amber" if gap <= AMBER_MARGIN else "red"


RAG_WORDS = {"green": "Met", "amber": "Missed, close", "red": "Missed", "none": "No target"}


def scorecard_rows(content: Mapping) -> list[dict]:
    """Every measure of the review against its target (or saying the contract sets none), then
    each service's uptime against its own."""
    rows = []
    for kpi in content.get("kpis", []):
        rag = _rag(kpi["value"], kpi["target"], kpi["better"])
        rows.append(
            {
                "label": kpi["label"],
                "value": _shown(kpi["value"], kpi["unit"]),
                "target": _target_words(kpi["target"], kpi["unit"], kpi["better"]),
                "rag": rag,
                "rag_label": RAG_WORDS[rag],
            }
        )
    for service in content.get("uptime", []):
        rag = _rag(service.get("value"), service.get("target"), "higher")
        target = service.get("target")
        rows.append(
            {
                "label": f"Uptime: {service['service']}",
                "value": "—" if service.get("value") is None else f"{service['value']:.3%}",
                "target": NO_TARGET if target is None else f"at least {target:.3%}",
                "rag": rag,
                "rag_label": RAG_WORDS[rag],
            }
        )
    return rows


def _target_words(target, unit: str, better: str) -> str:
    if target is None:
        return NO_TARGET
    bound = "at least" if better == "higher" else "at most"
    return f"{bound} {_shown(target, unit)}"


def verdict(content: Mapping, rows: Sequence[dict]) -> str:
    """The scorecard in one sentence: how many targets were met, and which were missed."""
    judged = [r for r in rows if r["rag"] != "none"]
    missed = [r["label"] for r in judged if r["rag"] in ("amber", "red")]
    who, quarter = content.get("msp", "The MSP"), content.get("quarter", "")
    if not judged:
        return f"The contract sets no target {who} could be held to in {quarter}."
    if not missed:
        return f"{who} met all {len(judged)} targets of the contract in {quarter}."
    met = len(judged) - len(missed)
    return f"{who} met {met} of {len(judged)} targets in {quarter}; missed: {', '.join(missed)}."


def credit_total(credits: Sequence[Mapping]) -> str | None:
    """The quarter's credits as one total per currency, two decimals: 'USD 1,682.00'."""
    totals: dict[str, float] = defaultdict(float)
    for credit in credits:
        if credit.get("amount"):
            totals[credit.get("currency") or ""] += float(credit["amount"])
    if not totals:
        return None
    return " and ".join(f"{cur} {amount:,.2f}".strip() for cur, amount in sorted(totals.items()))


def suggestions(content: Mapping) -> list[str]:
    """Recommendations the figures suggest: bring each missed target back, and find the root
    cause of the largest recurring risks. The advisor keeps, rewrites or ignores them."""
    out = []
    for kpi in content.get("kpis", []):
        if _rag(kpi["value"], kpi["target"], kpi["better"]) in ("amber", "red"):
            out.append(
                f"Bring {kpi['label']} back to target "
                f"({_shown(kpi['value'], kpi['unit'])} against "
                f"{_target_words(kpi['target'], kpi['unit'], kpi['better'])}): the MSP to "
                "say what it changes and by when."
            )
    for service in content.get("uptime", []):
        if _rag(service.get("value"), service.get("target"), "higher") in ("amber", "red"):
            out.append(f"Review the outages of {service['service']} and agree how to prevent them.")
    for cluster in (content.get("clusters") or [])[:RISKS_SUGGESTED]:
        out.append(
            f"Find and fix the root cause of the recurring incidents on "
            f"{risk_name(cluster['fingerprint'])} ({cluster['count']} in the quarter)."
        )
    overdue = sorted(
        {c["name"] for c in content.get("commitments", []) if c["status"] == "overdue"}
    )
    if overdue:
        out.append("Catch up on the overdue commitments: " + ", ".join(overdue) + ".")
    return out


def advisor_items(content: Mapping) -> list[str]:
    """The advisor's recommendations, one per line as written."""
    text = content.get("recommendations") or ""
    return [line.strip(" -•\t") for line in text.splitlines() if line.strip(" -•\t")]


def empty_sections(content: Mapping) -> list[str]:
    """What people still have to write: publishing names these, and the PDF leaves them out."""
    empty = []
    if not content.get("msp_commentary"):
        empty.append("the MSP's commentary")
    if not content.get("advisor_commentary"):
        empty.append("the advisor's commentary")
    if not advisor_items(content):
        empty.append("the advisor's recommendations")
    if not content.get("action_items"):
        empty.append("action items")
    if not content.get("attendees"):
        empty.append("attendees")
    if not content.get("next_review_on"):
        empty.append("the next review date")
    return empty
