"""KPI formulas (kpis/metrics/formulas.py) on a hand-built client: every figure computed by hand,
plus properties over random tickets. Pure: no database."""

from __future__ import annotations

import math
import re
import statistics
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpis.metrics.formulas import figure_tickets, kpis_by_period, kpis_compute, prepared
from kpis.metrics.period import Period, period_key, period_label, period_labels_of_month
from kpis.metrics.registry import RULES

JULY = Period.parse("2025-07", "America/Chicago")
COLUMNS = {
    "id": pl.Int64, "created_at": pl.Datetime("us"), "resolved_at": pl.Datetime("us"),
    "kind": pl.String, "priority": pl.String, "origin": pl.String, "category": pl.String,
    "configuration_item": pl.String, "requester": pl.String, "title": pl.String,
    "tier": pl.Int16, "escalated_at": pl.Datetime("us"), "reopen_count": pl.Int64,
    "reassignment_count": pl.Int64, "state": pl.String, "response_minutes": pl.Float64,
    "response_verdict": pl.String, "resolution_minutes": pl.Float64,
    "resolution_verdict": pl.String, "no_verdict_reason": pl.String,
}  # fmt: skip


# Distinct titles without digits: the fingerprint reads digits as '#', so 'Ticket 5' and
# 'Ticket 6' would be the same incident.
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"]


def ticket(id, created, resolved=None, **kw):
    row = {
        "id": id, "created_at": created, "resolved_at": resolved, "kind": "incident",
        "priority": "P3", "origin": "reactive", "category": "Email", "configuration_item": "",
        "requester": "", "title": f"Issue {WORDS[id % len(WORDS)]}", "tier": 1,
        "escalated_at": None, "reopen_count": 0, "reassignment_count": 0,
        "state": "closed" if resolved else "open", "response_minutes": 30.0,
        "response_verdict": "met", "resolution_minutes": 120.0 if resolved else None,
        "resolution_verdict": "met" if resolved else "pending", "no_verdict_reason": "",
    }  # fmt: skip
    return row | kw


def frame(rows) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=COLUMNS, orient="row")


def d(text: str) -> datetime:
    """A UTC instant, naive, as the frames hold them."""
    return datetime.fromisoformat(text)


def test_july_in_chicago_is_a_utc_range_starting_at_five_in_the_morning():
    assert (JULY.start, JULY.end) == (d("2025-07-01 05:00"), d("2025-08-01 05:00"))
    q3 = Period.parse("2025-Q3", "America/Chicago")
    assert (q3.first_day.isoformat(), q3.next_first_day.isoformat()) == ("2025-07-01", "2025-10-01")
    assert Period.parse("2025", "UTC").end == d("2026-01-01 00:00")
    with pytest.raises(ValueError, match="not a period"):
        Period.parse("2025-13x", "UTC")


def hand_built() -> pl.DataFrame:
    return frame([
        # June, resolved in July: counts for July's resolution figures only.
        ticket(1, d("2025-06-30 20:00"), d("2025-07-02 15:00"), resolution_minutes=600.0,
               resolution_verdict="breached", state="closed"),
        # The first of July in Chicago starts at 05:00 UTC: this one is all June.
        ticket(2, d("2025-07-01 04:59"), d("2025-07-01 04:59:59")),
        ticket(3, d("2025-07-03 14:00"), d("2025-07-03 16:00"), origin="proactive",
               configuration_item="SRV01", category="Backup", response_minutes=10.0),
        ticket(4, d("2025-07-10 14:00"), d("2025-07-11 14:00"), origin="proactive",
               configuration_item="SRV01", category="Backup", response_minutes=50.0,
               tier=2, escalated_at=d("2025-07-10 15:30"), resolution_minutes=300.0,
               resolution_verdict="breached", response_verdict="breached"),
        ticket(5, d("2025-07-20 14:00"), d("2025-07-21 14:00"), reopen_count=1,
               response_minutes=90.0, response_verdict="breached"),
        ticket(6, d("2025-07-25 14:00"), None, response_minutes=None, response_verdict="pending",
               origin=""),
        ticket(7, d("2025-07-28 14:00"), None, kind="request", response_minutes=20.0,
               resolution_verdict="", priority="", no_verdict_reason="unmapped priority"),
        # August: outside the period, but open at the end of July? No: created after it.
        ticket(8, d("2025-08-02 14:00"), None),
    ])  # fmt: skip


def test_every_figure_of_a_hand_built_july():
    f = kpis_compute(hand_built(), JULY, seats=50, repeat_window_days=30)
    value = {k: v.value for k, v in f.items()}
    assert f["tickets.created"].tickets == [3, 4, 5, 6, 7]
    assert f["tickets.resolved"].tickets == [1, 3, 4, 5]
    assert f["tickets.open_at_end"].tickets == [6, 7]
    assert value["tickets.per_seat"] == 5 / 50
    # Response, over the created tickets that have a first response: 10, 50, 90, 20.
    assert value["response.mean_minutes"] == 42.5
    assert value["response.median_minutes"] == 35.0
    assert value["response.p90_minutes"] == 90.0
    assert (value["response.sla_met"], value["response.sla_breached"]) == (2, 2)
    assert value["response.sla_pending"] == 1
    assert value["response.compliance"] == 0.5
    # Resolution, over July's resolutions: 600, 120, 300, 120 minutes; 1 and 4 breached.
    assert value["resolution.mean_minutes"] == 285.0
    assert value["resolution.median_minutes"] == 210.0
    assert value["resolution.compliance"] == 0.5
    assert f["resolution.sla_pending"].tickets == [6]
    # First-time fix: 1 and 3 (4 escalated, 5 reopened) of the four resolved.
    assert f["first_time_fix_rate"].tickets == [1, 3]
    assert value["first_time_fix_rate"] == 0.5
    assert value["reopen_rate"] == 0.25
    # Repeats: 4 repeats 3 (same device and category, 7 days apart); July's incidents are
    # 3, 4, 5 and 6 (7 is a request).
    assert (f["repeat_incident_rate"].numerator, f["repeat_incident_rate"].denominator) == (1, 4)
    [cluster] = value["repeat_clusters"]
    assert cluster["fingerprint"] == "ci:srv01|backup" and cluster["count"] == 2
    assert f["repeat_clusters"].tickets == [3, 4]
    # Proactive: 3 and 4 of the incidents with a known origin (3, 4, 5; 6 has none).
    assert f["proactive_ratio"].tickets == [3, 4] and f["proactive_ratio"].denominator == 3
    assert value["escalation.rate"] == 1 / 5
    assert value["escalation.mean_minutes_to_escalate"] == 90.0
    assert value["escalation.resolved_at_tier"] == {"1": 0.75, "2": 0.25, "3": 0.0}
    assert value["excluded"] == {"unmapped priority": 1}


def test_empty_periods_give_nulls_not_zero_division():
    f = kpis_compute(hand_built(), Period.parse("2024-01", "UTC"), seats=0, repeat_window_days=30)
    assert f["tickets.created"].value == 0
    assert f["response.compliance"].value is None
    assert f["response.mean_minutes"].value is None
    assert f["tickets.per_seat"].value is None


VERDICTS = st.sampled_from(["met", "breached", "pending", ""])


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 60 * 24 * 90), st.one_of(st.none(), st.integers(0, 60 * 24 * 30)),
            VERDICTS, VERDICTS, st.integers(0, 2), st.integers(1, 3),
            st.sampled_from(["proactive", "reactive", ""]),
        ),
        max_size=40,
    )
)  # fmt: skip
def test_rates_are_fractions_and_compliance_is_met_over_judged(rows):
    base = d("2025-06-15 00:00")
    tickets = frame([
        ticket(i, base + timedelta(minutes=c),
               None if r is None else base + timedelta(minutes=c + r),
               response_verdict=rv, resolution_verdict=sv, reopen_count=reopen, tier=tier,
               origin=origin)
        for i, (c, r, rv, sv, reopen, tier, origin) in enumerate(rows)
    ])  # fmt: skip
    f = kpis_compute(tickets, JULY, seats=10, repeat_window_days=30)
    for key in (
        "response.compliance",
        "resolution.compliance",
        "first_time_fix_rate",
        "repeat_incident_rate",
        "proactive_ratio",
        "reopen_rate",
        "escalation.rate",
    ):
        value = f[key].value
        assert value is None or 0 <= value <= 1, key
        if value is not None:
            assert value == f[key].numerator / f[key].denominator
            assert len(f[key].tickets) == f[key].numerator
    met, breached = f["response.sla_met"].value, f["response.sla_breached"].value
    assert f["response.compliance"].denominator == met + breached
    created = f["tickets.created"].value
    assert met + breached + f["response.sla_pending"].value <= created


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


def oracle(rows: list[dict], period: Period, window_days: int, seats: int | None) -> dict:
    """kpis.md, ticket by ticket, with loops: slow and obvious."""
    inside = lambda t: t is not None and period.start <= t < period.end  # noqa: E731
    created = [t for t in rows if inside(t["created_at"])]
    resolved = [t for t in rows if inside(t["resolved_at"])]
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

    def rate(numerator, denominator):
        return (len(numerator) / len(denominator) if denominator else None, len(numerator),
                len(denominator))  # fmt: skip

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
    for prefix, basis in (("response", created), ("resolution", resolved)):
        mean, median, p90 = stats(basis, f"{prefix}_minutes")
        verdicts = [t[f"{prefix}_verdict"] for t in basis]
        out |= {
            f"{prefix}.mean_minutes": mean, f"{prefix}.median_minutes": median,
            f"{prefix}.p90_minutes": p90, f"{prefix}.sla_met": verdicts.count("met"),
            f"{prefix}.sla_breached": verdicts.count("breached"),
            f"{prefix}.sla_pending": verdicts.count("pending"),
            f"{prefix}.compliance": rate([v for v in verdicts if v == "met"],
                                         [v for v in verdicts if v in ("met", "breached")]),
        }  # fmt: skip
    out["resolution.sla_pending"] = sum(t["resolution_verdict"] == "pending" for t in created)
    out["first_time_fix_rate"] = rate(
        [t for t in resolved
         if t["reopen_count"] == 0 and t["tier"] <= 1 and t["reassignment_count"] == 0],
        resolved,
    )  # fmt: skip
    period_incidents = [t for t in incidents if inside(t["created_at"])]
    repeats = [t for t in period_incidents if is_repeat(t)]
    out["repeat_incident_rate"] = rate(repeats, period_incidents)
    clustered = {_fingerprint(t) for t in repeats}
    out["cluster_tickets"] = {
        f: sorted(t["id"] for t in period_incidents if _fingerprint(t) == f) for f in clustered
    }
    out["repeat_clusters"] = sorted((f, len(ids)) for f, ids in out["cluster_tickets"].items())
    known = [t for t in period_incidents if t["origin"]]
    out["proactive_ratio"] = rate([t for t in known if t["origin"] == "proactive"], known)
    out["reopen_rate"] = rate([t for t in resolved if t["reopen_count"] > 0], resolved)
    out["escalation.rate"] = rate([t for t in created if t["tier"] > 1], created)
    timed = [(t["escalated_at"] - t["created_at"]).total_seconds() / 60
             for t in created if t["escalated_at"] is not None]  # fmt: skip
    out["escalation.mean_minutes_to_escalate"] = sum(timed) / len(timed) if timed else None
    out["escalation.resolved_at_tier"] = {
        str(n): sum(t["tier"] == n for t in resolved) / len(resolved) if resolved else None
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
    "tier": st.integers(1, 3), "reopen_count": st.integers(0, 1),
    "reassignment_count": st.integers(0, 1),
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
        ))  # fmt: skip
    return rows


@settings(max_examples=60, deadline=None)
@given(st.lists(RANDOM_TICKET, min_size=1, max_size=30), st.sampled_from([30, 45, 60]))
def test_every_period_of_the_engine_equals_the_plain_reading_of_the_spec(drawn, window):
    rows = random_rows(drawn)
    computed = kpis_by_period(frame(rows), ZONE, seats={0: 12}, repeat_window_days=window)
    ready = prepared(frame(rows), ZONE, window)
    assert computed, "every ticket has a creation period"
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


def oracle_breakdowns(rows: list[dict], period: Period, window_days: int) -> dict:
    """Per priority, category and origin value seen in the period: the breakdown figures of
    that value's tickets alone."""
    inside = lambda t: t is not None and period.start <= t < period.end  # noqa: E731
    out = {}
    for column in ("priority", "category", "origin"):
        seen = {t[column] for t in rows if t[column]
                and (inside(t["created_at"]) or inside(t["resolved_at"]))}  # fmt: skip
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


def test_drill_down_lists_exactly_the_tickets_a_figure_counts():
    f = kpis_compute(hand_built(), JULY, seats=50, repeat_window_days=30)
    tickets = prepared(hand_built(), JULY.zone, 30)
    compliance = figure_tickets(tickets, "resolution.compliance", JULY)
    assert compliance == [1, 3, 4, 5] and len(compliance) == f["resolution.compliance"].denominator
    assert figure_tickets(tickets, "resolution.compliance", JULY, part="numerator") == [3, 5]
    assert figure_tickets(tickets, "repeat_clusters", JULY) == [3, 4]
    # A quarter's backlog is the backlog at the end of its last month.
    q3 = Period.parse("2025-Q3", ZONE)
    assert figure_tickets(tickets, "tickets.open_at_end", q3) == [6, 7, 8]


def test_p90_is_the_nearest_rank_value():
    """Ten response times 1..10 minutes: ceil(0.9 × 10) = 9th value, not the 10th."""
    rows = [ticket(i, d("2025-07-02 12:00"), response_minutes=float(i)) for i in range(1, 11)]
    f = kpis_compute(frame(rows), JULY, seats=None, repeat_window_days=30)
    assert f["response.p90_minutes"].value == 9.0
    rows = [ticket(i, d("2025-07-02 12:00"), response_minutes=float(i)) for i in range(1, 71)]
    f = kpis_compute(frame(rows), JULY, seats=None, repeat_window_days=30)
    assert f["response.p90_minutes"].value == 63.0  # 0.9 × 70 = 63.000000000000014 in floats


@given(st.integers(1, 9998), st.integers(1, 12))
def test_period_keys_round_trip_to_their_labels(year, month):
    for label in period_labels_of_month(f"{year:04d}-{month:02d}"):
        assert period_label(period_key(label)) == label


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
    }, schema=COLUMNS))  # fmt: skip
    runs = [kpis_by_period(rows, ZONE, repeat_window_days=30) for _ in range(3)]
    views = [[(r.period, engine_view(r.figures), r.breakdowns) for r in run] for run in runs]
    assert views[0] == views[1] == views[2]
