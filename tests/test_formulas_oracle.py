"""The vectorised KPI engine (kpis/metrics/formulas.py) against a plain, ticket-by-ticket
reading of docs/kpis.md on random tickets, and properties of the periods a figure counts in.
Pure: no database."""

from __future__ import annotations

import math
import re
import statistics
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from kpis.metrics.formulas import figure_tickets, kpis_by_period, prepared
from kpis.metrics.period import Period, period_key, period_label, period_labels_of_month
from kpis.metrics.registry import RULES
from tests.test_formulas import COLUMNS, VERDICTS, d, frame, ticket

# --- The vectorised engine against a plain-Python reading of kpis.md ---------------------------

ZONE = "America/Chicago"
KINDS = ["incident", "incident", "alert", "request"]


def _fingerprint(t: dict) -> str:
    category = t["category"].lower()
    if t["configuration_item"]:
        return f"ci:{t['configuration_item'].lower()}|{category}"
    if t["requester"]:
        return f"user:{t['requester'].lower()}|{category}"
    title = re.sub(r"[^a-z#]+", " ", re.sub(r"\d+", "#", t["title"].lower())).strip()
    return f"title:{category}|{title}"


def judged_in(t: dict, period: Period) -> bool:
    """Whether the ticket's resolution verdict belongs to the period (docs/kpis.md): a met one
    to the period of its resolution, a breached one to that of its breach moment."""
    moment = {"met": t["resolved_at"], "breached": t["resolution_breached_at"]}.get(
        t["resolution_verdict"]
    )
    return moment is not None and period.start <= moment < period.end


def oracle(rows: list[dict], period: Period, window_days: int, seats: int | None) -> dict:
    """kpis.md, ticket by ticket, with loops: slow and obvious."""
    inside = lambda t: t is not None and period.start <= t < period.end  # noqa: E731
    created = [t for t in rows if inside(t["created_at"])]
    resolved = [t for t in rows if inside(t["resolved_at"])]
    judged = [t for t in rows if judged_in(t, period)]
    backlog = [t for t in rows if t["created_at"] < period.end and t["state"] != "cancelled"
               and (t["resolved_at"] is None or t["resolved_at"] >= period.end)]  # fmt: skip
    incidents = [t for t in rows if t["kind"] in ("incident", "alert")]
    order = sorted(incidents, key=lambda t: (t["created_at"], t["id"]))

    def is_repeat(t):
        earlier = order[: order.index(t)]
        return any(
            _fingerprint(e) == _fingerprint(t)
            and (t["created_at"] - e["created_at"]).total_seconds() <= window_days * 86400
            for e in earlier
        )

    def rate(numerator, denominator, carried=True):
        """A rate is null with nothing to count over, or when the export carries none of what
        it reads (`carried`: some ticket of its basis has it)."""
        value = len(numerator) / len(denominator) if denominator and carried else None
        return value, len(numerator), len(denominator)

    def stats(tickets, column):
        values = sorted(t[column] for t in tickets if t[column] is not None)
        if not values:
            return None, None, None
        rank = -(-9 * len(values) // 10)  # ceil(0.9 n)
        return sum(values) / len(values), statistics.median(values), values[rank - 1]

    out = {
        "tickets.created": len(created), "tickets.resolved": len(resolved),
        "tickets.open_at_end": len(backlog),
        "tickets.per_seat": len(created) / seats if seats else None,
    }  # fmt: skip
    for prefix, basis, verdict_basis in (
        ("response", created, created),
        ("resolution", resolved, judged),
    ):
        mean, median, p90 = stats(basis, f"{prefix}_minutes")
        verdicts = [t[f"{prefix}_verdict"] for t in verdict_basis]
        out |= {
            f"{prefix}.mean_minutes": mean, f"{prefix}.median_minutes": median,
            f"{prefix}.p90_minutes": p90, f"{prefix}.sla_met": verdicts.count("met"),
            f"{prefix}.sla_breached": verdicts.count("breached"),
            f"{prefix}.sla_pending": verdicts.count("pending"),
            f"{prefix}.compliance": rate([v for v in verdicts if v == "met"],
                                         [v for v in verdicts if v in ("met", "breached")]),
        }  # fmt: skip
    # Open at the end, with a target, not past it then (no breach moment before the end).
    out["resolution.sla_pending"] = sum(
        t["resolution_verdict"] != ""
        and (t["resolution_breached_at"] is None or t["resolution_breached_at"] >= period.end)
        for t in backlog
    )
    # A missing count or tier reads as "did not happen"; none of the three carried: null.
    out["first_time_fix_rate"] = rate(
        [t for t in resolved if (t["reopen_count"] or 0) == 0 and (t["tier"] or 1) <= 1
         and (t["reassignment_count"] or 0) == 0],
        resolved,
        any(t[c] is not None for t in resolved
            for c in ("reopen_count", "tier", "reassignment_count")),
    )  # fmt: skip
    period_incidents = [t for t in incidents if inside(t["created_at"])]
    out["incidents.created"] = len(period_incidents)
    out["incidents.resolved"] = sum(1 for t in resolved if t["kind"] in ("incident", "alert"))
    repeats = [t for t in period_incidents if is_repeat(t)]
    out["repeat_incident_rate"] = rate(repeats, period_incidents)
    clustered = {_fingerprint(t) for t in repeats}
    out["cluster_tickets"] = {
        f: sorted(t["id"] for t in period_incidents if _fingerprint(t) == f) for f in clustered
    }
    out["repeat_clusters"] = sorted((f, len(ids)) for f, ids in out["cluster_tickets"].items())
    known = [t for t in period_incidents if t["origin"]]
    out["proactive_ratio"] = rate(
        [t for t in known if t["origin"] == "proactive"], known, any(t["origin"] for t in created)
    )
    out["reopen_rate"] = rate(
        [t for t in resolved if (t["reopen_count"] or 0) > 0],
        resolved,
        any(t["reopen_count"] is not None for t in resolved),
    )
    out["escalation.rate"] = rate(
        [t for t in created if (t["tier"] or 1) > 1],
        created,
        any(t["tier"] is not None for t in created),
    )
    timed = [(t["escalated_at"] - t["created_at"]).total_seconds() / 60
             for t in created if t["escalated_at"] is not None]  # fmt: skip
    out["escalation.mean_minutes_to_escalate"] = sum(timed) / len(timed) if timed else None
    tiered = [t for t in resolved if t["tier"] is not None]
    out["escalation.resolved_at_tier"] = {
        str(n): sum(t["tier"] == n for t in tiered) / len(tiered) if tiered else None
        for n in (1, 2, 3)
    }
    reasons = [t["no_verdict_reason"] for t in created if t["no_verdict_reason"]]
    out["excluded"] = {r: reasons.count(r) for r in sorted(set(reasons))}
    return out


def engine_view(figures: dict) -> dict:
    """The engine's figures in the oracle's shape."""
    out = {}
    for key, figure in figures.items():
        if RULES[key].kind == "rate":
            out[key] = (figure.value, figure.numerator, figure.denominator)
        elif key == "repeat_clusters":
            out[key] = sorted((c["fingerprint"], c["count"]) for c in figure.value)
        else:
            out[key] = figure.value
    return out


def close(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    return a == b


RANDOM_TICKET = st.fixed_dictionaries({
    "created": st.integers(0, 60 * 24 * 200),
    "open_for": st.one_of(st.none(), st.integers(0, 60 * 24 * 120)),
    "kind": st.sampled_from(KINDS), "origin": st.sampled_from(["proactive", "reactive", ""]),
    "priority": st.sampled_from(["P1", "P2", "P3", ""]),
    "category": st.sampled_from(["Email", "Backup", "Network"]),
    "configuration_item": st.sampled_from(["", "", "SRV01", "PC-7"]),
    "requester": st.sampled_from(["", "", "ana", "Bo"]),
    "title": st.sampled_from(["Disk full on SRV1", "Disk full on SRV2", "Printer jam", "VPN!"]),
    # None: the export does not carry it (rarely, so most periods still have rates).
    "tier": st.sampled_from([1, 1, 2, 3, None]), "reopen_count": st.sampled_from([0, 1, 1, None]),
    "reassignment_count": st.sampled_from([0, 1, None]),
    "breach_after": st.integers(0, 60 * 24 * 150),
    "response": st.one_of(st.none(), st.integers(0, 5000)), "resolution": st.integers(0, 90000),
    "response_verdict": VERDICTS, "resolution_verdict": VERDICTS,
    "reason": st.sampled_from(["", "", "", "unmapped priority", "cancelled or merged"]),
    "escalate_after": st.one_of(st.none(), st.integers(0, 3000)),
})  # fmt: skip


def random_rows(drawn: list[dict]) -> list[dict]:
    base = d("2025-05-20 00:00")
    rows = []
    for i, r in enumerate(drawn, start=1):
        created = base + timedelta(minutes=r["created"])
        resolved = None if r["open_for"] is None else created + timedelta(minutes=r["open_for"])
        rows.append(ticket(
            i, created, resolved, kind=r["kind"], origin=r["origin"], category=r["category"],
            priority=r["priority"],
            configuration_item=r["configuration_item"], requester=r["requester"],
            title=r["title"], tier=r["tier"], reopen_count=r["reopen_count"],
            reassignment_count=r["reassignment_count"],
            response_minutes=None if r["response"] is None else r["response"] / 7,
            resolution_minutes=None if resolved is None else r["resolution"] / 3,
            response_verdict=r["response_verdict"], resolution_verdict=r["resolution_verdict"],
            no_verdict_reason=r["reason"],
            state="cancelled" if r["reason"] == "cancelled or merged" else
                  ("closed" if resolved else "open"),
            escalated_at=None if r["escalate_after"] is None
                         else created + timedelta(minutes=r["escalate_after"]),
            # A breached verdict has its breach moment, before the resolution if any.
            resolution_breached_at=None if r["resolution_verdict"] != "breached" else
                min(created + timedelta(minutes=r["breach_after"]), resolved or d("9999-01-01")),
        ))  # fmt: skip
    return rows


@settings(max_examples=60, deadline=None)
@given(st.lists(RANDOM_TICKET, min_size=1, max_size=30), st.sampled_from([30, 45, 60]))
def test_every_period_of_the_engine_equals_the_plain_reading_of_the_spec(drawn, window):
    rows = random_rows(drawn)
    computed = kpis_by_period(frame(rows), ZONE, seats={0: 12}, repeat_window_days=window)
    ready = prepared(frame(rows), ZONE, window)
    assert computed, "every ticket has a creation period"
    # Every month from the first ticket's to the last with a ticket created, resolved or
    # judged in it, with its quarter and year, and no other period.
    months = sorted(
        f"{moment.replace(tzinfo=UTC).astimezone(ZoneInfo(ZONE)):%Y-%m}"
        for t in rows
        for moment in (t["created_at"], t["resolved_at"], t["resolution_breached_at"])
        if moment is not None
        and (moment is not t["resolution_breached_at"] or t["resolution_verdict"] == "breached")
    )
    first = min(
        f"{t['created_at'].replace(tzinfo=UTC).astimezone(ZoneInfo(ZONE)):%Y-%m}" for t in rows
    )
    every = range(period_key(first), period_key(months[-1]) + 1)
    expected_labels = {p for m in every for p in period_labels_of_month(period_label(m))}
    assert {r.period for r in computed} == expected_labels
    for result in computed:
        period = Period.parse(result.period, ZONE)
        expected = oracle(rows, period, window, seats=12)
        got = engine_view(result.figures)
        for fingerprint, ids in expected.pop("cluster_tickets").items():
            listed = figure_tickets(ready, "repeat_clusters", period, fingerprint=fingerprint)
            assert listed == ids, (result.period, fingerprint)
        for key in expected:
            assert close(got[key], expected[key]), (result.period, key, got[key], expected[key])
        assert close(result.breakdowns, oracle_breakdowns(rows, period, window)), result.period


@settings(max_examples=40, deadline=None)
@given(st.lists(RANDOM_TICKET, min_size=1, max_size=25))
def test_every_resolution_verdict_lands_in_exactly_one_month(drawn):
    """Each met or breached ticket is listed under exactly one month's sla_met or sla_breached
    (a breached one even while open), and a quarter's and a year's counts are the sums of
    their months': nothing is counted twice across months, quarters and years."""
    rows = random_rows(drawn)
    computed = kpis_by_period(frame(rows), ZONE, repeat_window_days=30)
    ready = prepared(frame(rows), ZONE, 30)
    by_label = {r.period: r.figures for r in computed}
    months = [label for label in by_label if len(label) == 7 and label[5] != "Q"]
    for key, verdict in (("resolution.sla_met", "met"), ("resolution.sla_breached", "breached")):
        listed = [
            i
            for label in months
            for i in figure_tickets(ready, key, Period.parse(label, ZONE), part="numerator")
        ]
        # (The random tickets may say met while open: no real verdict, so none here.)
        judged = [
            t["id"]
            for t in rows
            if t["resolution_verdict"] == verdict and (verdict == "breached" or t["resolved_at"])
        ]
        assert sorted(listed) == sorted(judged), key  # each once, none left out
        for label, figures in by_label.items():
            if label in months:
                continue
            inner = Period.parse(label, ZONE).months
            total = sum(by_label[m][key].value for m in inner if m in by_label)
            assert figures[key].value == total, (label, key)


def oracle_breakdowns(rows: list[dict], period: Period, window_days: int) -> dict:
    """Per priority, category and origin value seen in the period: the breakdown figures of
    that value's tickets alone."""
    inside = lambda t: t is not None and period.start <= t < period.end  # noqa: E731
    out = {}
    for column in ("priority", "category", "origin"):
        seen = {
            t[column]
            for t in rows
            if t[column]
            and (inside(t["created_at"]) or inside(t["resolved_at"]) or judged_in(t, period))
        }
        for value in sorted(seen):
            part = oracle([t for t in rows if t[column] == value], period, window_days, None)
            out.setdefault(column, {})[value] = {
                "tickets.created": part["tickets.created"],
                "response.compliance": part["response.compliance"][0],
                "resolution.compliance": part["resolution.compliance"][0],
                "resolution.mean_minutes": part["resolution.mean_minutes"],
                "first_time_fix_rate": part["first_time_fix_rate"][0],
            }
    return out


@settings(max_examples=25, deadline=None)
@given(st.lists(RANDOM_TICKET, min_size=1, max_size=20), st.lists(RANDOM_TICKET, max_size=20))
def test_clients_computed_together_do_not_see_each_other(mine, theirs):
    """One group-by serves every client: client 2's tickets never change client 1's figures
    (repeats, backlogs, clusters included)."""
    alone = kpis_by_period(frame(random_rows(mine)).with_columns(client_id=pl.lit(1)), ZONE)
    others = frame(random_rows(theirs)).with_columns(client_id=pl.lit(2), id=pl.col("id") + 1000)
    together = kpis_by_period(
        pl.concat([frame(random_rows(mine)).with_columns(client_id=pl.lit(1)), others]), ZONE
    )
    mine_together = [r for r in together if r.client_id == 1]
    assert [r.period for r in mine_together] == [r.period for r in alone]
    for a, b in zip(alone, mine_together, strict=True):
        assert close(engine_view(a.figures), engine_view(b.figures)), a.period
        assert close(a.breakdowns, b.breakdowns), a.period


def test_the_same_tickets_give_the_same_figures_to_the_last_digit():
    """Group-bys run on several threads; sums are taken in sorted order so a recompute never
    changes a stored figure by float noise (the snapshots' content hash relies on it)."""
    rng = np.random.default_rng(3)
    n = 60_000
    created = (
        np.datetime64("2025-01-01T00:00") + rng.integers(0, 500_000, n).astype("timedelta64[m]")
    ).astype("datetime64[us]")
    rows = frame([]).vstack(pl.DataFrame({
        "id": np.arange(n), "created_at": created,
        "resolved_at": created + rng.integers(1, 9_000, n).astype("timedelta64[m]").astype(
            "timedelta64[us]"
        ),
        "kind": rng.choice(["incident", "request"], n), "priority": rng.choice(["P1", "P2"], n),
        "origin": rng.choice(["proactive", "reactive"], n), "category": rng.choice(["A", "B"], n),
        "configuration_item": rng.choice(["", "SRV1", "SRV2"], n), "requester": [""] * n,
        "title": ["t"] * n, "tier": rng.integers(1, 4, n).astype(np.int16),
        "escalated_at": [None] * n, "reopen_count": rng.integers(0, 2, n),
        "reassignment_count": rng.integers(0, 2, n), "state": ["closed"] * n,
        "response_minutes": rng.random(n) * 300, "response_verdict": ["met"] * n,
        "resolution_minutes": rng.random(n) * 3000,
        "resolution_verdict": rng.choice(["met", "breached"], n), "no_verdict_reason": [""] * n,
        "resolution_breached_at": created + rng.integers(1, 9_000, n).astype(
            "timedelta64[m]").astype("timedelta64[us]"),
    }, schema=COLUMNS))  # fmt: skip
    runs = [kpis_by_period(rows, ZONE, repeat_window_days=30) for _ in range(3)]
    views = [[(r.period, engine_view(r.figures), r.breakdowns) for r in run] for run in runs]
    assert views[0] == views[1] == views[2]
