"""Deterministic ticket exports for benchmarks: ConnectWise layout, many clients, any size.

    python benchmarks/generate.py OUT.csv --rows 1000000 --clients 200 [--seed 7]

The same arguments always give the same bytes. Columns, formats and value mixes follow the
ConnectWise sample (US 12-hour local times, 'Priority N - ...' names, Tier N, waiting minutes).
Generated column-wise with NumPy and polars, so a million rows take a few seconds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import polars as pl

HEADER = [
    "Ticket #",
    "Company",
    "Summary Description",
    "Board",
    "Status",
    "Priority",
    "Type",
    "Subtype",
    "Item",
    "Source",
    "Configuration",
    "Contact",
    "Resources",
    "Date Entered",
    "Date Responded",
    "Date Resolved",
    "Closed Date",
    "Escalation Level",
    "Minutes Before Waiting",
    "Waiting Minutes",
    "Reopened",
    "SLA Status",
]
PRIORITIES = [
    "Priority 1 - Emergency Response",
    "Priority 2 - Quick Response",
    "Priority 3 - Normal Response",
    "Priority 4 - Schedule Maintenance",
]
TYPES = ["Security", "Server", "Network", "Backup", "Workstation", "Printer", "Email", "Accounts"]
SOURCES = ["Monitoring", "Phone", "Email", "Portal"]
START = np.datetime64("2024-11-01T00:00", "m")
SPAN_MINUTES = 730 * 24 * 60  # two years of creation times, to 31 Oct 2026


def client_names(count: int) -> list[str]:
    return [f"Client {i:03d} Ltd" for i in range(count)]


def export_frame(rows: int, clients: int, seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    created = START + rng.integers(0, SPAN_MINUTES, rows).astype("timedelta64[m]")
    respond = created + rng.exponential(90, rows).astype("int64").astype("timedelta64[m]") + 1
    resolve = respond + rng.exponential(1500, rows).astype("int64").astype("timedelta64[m]") + 5
    closed = resolve + np.timedelta64(3, "D")
    priority = rng.choice(4, rows, p=[0.03, 0.13, 0.55, 0.29])
    source = rng.choice(4, rows, p=[0.27, 0.26, 0.24, 0.23])
    kind = rng.integers(0, len(TYPES), rows)
    tier = rng.choice(3, rows, p=[0.69, 0.25, 0.06]) + 1
    waiting = np.where(rng.random(rows) < 0.2, rng.integers(10, 3000, rows), -1)
    # A ticket waits at most most of the time it was open: a longer pause total is an export
    # error the import warns about row by row (docs/kpis.md), not what a benchmark should time.
    open_minutes = (resolve - created).astype("int64")
    waiting = np.where(waiting > 0, np.minimum(waiting, (open_minutes * 0.8).astype("int64")), -1)
    open_ = rng.random(rows) < 0.02
    fmt = "%m/%d/%Y %I:%M %p"

    def stamp(values: np.ndarray) -> pl.Series:
        # Generated in UTC, written in local time: no wall time falls in a DST gap.
        utc = pl.Series(values.astype("datetime64[us]")).dt.replace_time_zone("UTC")
        return utc.dt.convert_time_zone("America/Chicago").dt.strftime(fmt)

    names = np.array(client_names(clients))
    frame = pl.DataFrame(
        {
            "Ticket #": pl.Series(np.arange(100_000, 100_000 + rows)).cast(pl.String),
            "Company": names[rng.integers(0, clients, rows)],
            "Summary Description": pl.Series(np.array(TYPES)[kind])
            + " issue on WS-"
            + pl.Series(rng.integers(1, 400, rows)).cast(pl.String),
            "Board": np.where(source == 0, "NOC", "Service Desk"),
            "Status": np.where(open_, "In Progress", "Closed (resolved)"),
            "Priority": np.array(PRIORITIES)[priority],
            "Type": np.array(TYPES)[kind],
            "Subtype": "General",
            "Item": "",
            "Source": np.array(SOURCES)[source],
            "Configuration": pl.Series(rng.integers(1, 400, rows)).cast(pl.String).str.zfill(3),
            "Contact": pl.Series(rng.integers(1, 60, rows)).cast(pl.String).str.zfill(2),
            "Resources": "T. Walker (L1)",
            "Date Entered": stamp(created),
            "Date Responded": stamp(respond),
            "Date Resolved": stamp(resolve),
            "Closed Date": stamp(closed),
            "Escalation Level": pl.Series("Tier " + tier.astype(str)),
            "Minutes Before Waiting": "",
            "Waiting Minutes": pl.Series(waiting).cast(pl.String),
            "Reopened": np.where(rng.random(rows) < 0.04, "Yes", "No"),
            "SLA Status": "",
        }
    )
    return frame.with_columns(
        ("WS-" + pl.col("Configuration")).alias("Configuration"),
        ("user" + pl.col("Contact")).alias("Contact"),
        pl.when(pl.col("Waiting Minutes") == "-1")
        .then(None)
        .otherwise(pl.col("Waiting Minutes"))
        .alias("Waiting Minutes"),
        pl.when(pl.col("Status") == "In Progress")
        .then(None)
        .otherwise(pl.col("Date Resolved"))
        .alias("Date Resolved"),
        pl.when(pl.col("Status") == "In Progress")
        .then(None)
        .otherwise(pl.col("Closed Date"))
        .alias("Closed Date"),
    ).select(HEADER)


EVENT_HEADER = ["Ticket", "Company", "Title", "Status", "Priority", "Updated", "Assignee", "Group"]
# Every ticket's updates, in order: raised, taken, worked, a wait on the customer, worked, a
# comment, a wait on a vendor, worked, resolved, closed a week later by the tool.
EVENT_STEPS = [
    ("New", False),
    ("In Progress", True),
    ("In Progress", True),
    ("Waiting Customer", True),
    ("In Progress", True),
    ("In Progress", True),
    ("Awaiting Vendor", True),
    ("In Progress", True),
    ("Resolved", True),
    ("Closed", True),
]
EVENT_GAP_MINUTES = [0, 45, 60, 30, 240, 60, 30, 600, 120, 7 * 24 * 60]  # mean gap before each


def event_log_frame(tickets: int, clients: int, seed: int = 11) -> pl.DataFrame:
    """A status-history export: ten updates per ticket (EVENT_STEPS), rows in time order as a
    log is written, times in UTC without an offset. 500,000 tickets make 5,000,000 rows."""
    rng = np.random.default_rng(seed)
    steps = len(EVENT_STEPS)
    created = START + rng.integers(0, SPAN_MINUTES, tickets).astype("timedelta64[m]")
    gaps = rng.exponential(np.array(EVENT_GAP_MINUTES, dtype=float) + 1, (tickets, steps))
    gaps[:, 0] = 0
    at = created[:, None] + np.cumsum(gaps.astype("int64"), axis=1).astype("timedelta64[m]")
    ticket = np.repeat(np.arange(tickets), steps)
    step = np.tile(np.arange(steps), tickets)
    names = np.array(client_names(clients))
    company = names[rng.integers(0, clients, tickets)]
    priority = rng.choice(4, tickets, p=[0.03, 0.13, 0.55, 0.29])
    engineer = rng.integers(1, 40, tickets)
    assigned = np.array([taken for _, taken in EVENT_STEPS])[step]
    frame = pl.DataFrame(
        {
            "Ticket": pl.Series(ticket + 500_000).cast(pl.String),
            "Company": company[ticket],
            "Title": pl.Series(np.array(TYPES)[ticket % len(TYPES)]) + " issue",
            "Status": np.array([status for status, _ in EVENT_STEPS])[step],
            "Priority": np.array(["P1", "P2", "P3", "P4"])[priority[ticket]],
            "Updated": pl.Series(at.reshape(-1).astype("datetime64[us]")).dt.strftime(
                "%Y-%m-%d %H:%M:%S"
            ),
            "Assignee": np.where(assigned, "eng" + engineer[ticket].astype(str), ""),
            "Group": np.where(step >= 4, "Tier 2", "Service Desk"),
        }
    )
    return frame.sort("Updated", maintain_order=True).select(EVENT_HEADER)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    export_frame(args.rows, args.clients, args.seed).write_csv(args.out)
    print(f"wrote {args.rows} rows for {args.clients} clients to {args.out}")


if __name__ == "__main__":
    main()
