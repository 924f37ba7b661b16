"""make bench-load: 50 concurrent users on the dashboard and the ticket list while a 200,000-row
import runs, on the million-ticket benchmark database, served as bench-web serves it (gunicorn,
production settings).

Measures in one run: (a) the baseline, the same 50 users for the same time with no import; (b)
the same while an import of 200,000 new tickets (a ConnectWise export of the benchmark's clients,
ids the database does not hold) runs in its own process; p50 / p95 / max and errors of each. The
imported tickets are deleted afterwards, so the database is left as it was found.

    python -m msp_portal.devstack script benchmarks/bench_load.py [--no-record]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import sys
import threading
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import bench_import, bench_kpis, bench_web  # noqa: E402

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
USERS, IMPORT_ROWS, FIRST_ID = 50, 200_000, 5_000_000


def new_tickets_file(clients: int) -> Path:
    """200,000 tickets of the benchmark's clients with ids above the million's."""
    import polars as pl

    from benchmarks.generate import export_frame

    path = ROOT / ".data" / "bench" / f"connectwise-load-{IMPORT_ROWS}.csv"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        frame = export_frame(IMPORT_ROWS, clients, seed=13)
        ids = pl.Series(range(FIRST_ID, FIRST_ID + IMPORT_ROWS)).cast(pl.String)
        frame.with_columns(ids.alias("Ticket #")).write_csv(path)
    return path


def remove_imported() -> int:
    """Delete the imported tickets, then VACUUM: where autovacuum is slow or off (as on the
    benchmark machines), 200,000 dead index entries at the end of the tickets' primary key
    made the planner read them on every ticket-list query (2.6 ms of planning instead of
    0.25, measured 2026-12-02), slowing every later benchmark on this database."""
    import psycopg2

    conn = psycopg2.connect(bench_import.bench_url())
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "DELETE FROM kpis_ticket WHERE length(external_id) >= 7 AND external_id >= %s",
                [str(FIRST_ID)],
            )
            removed = cur.rowcount
            cur.execute("DELETE FROM kpis_recomputerequest")
        conn.autocommit = True  # VACUUM cannot run inside a transaction
        with conn.cursor() as cur:
            for table in ("kpis_ticket", "kpis_ticketclock", "kpis_recomputerequest"):
                cur.execute(f"VACUUM ANALYZE {table}")
    finally:
        conn.close()
    return removed


def load_while(port: int, session: str, paths: list[str], busy: threading.Event) -> dict:
    """USERS threads, each on its own keep-alive connection, alternating between the pages
    until `busy` is cleared; every response must be a 200."""
    timings, errors = [], []
    lock = threading.Lock()

    def user(offset: int):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        turn = offset
        while busy.is_set():
            path = paths[turn % len(paths)]
            turn += 1
            elapsed, status = bench_web.timed_get(conn, path, session)
            with lock:
                timings.append(elapsed)
                if status != 200:
                    errors.append(status)
        conn.close()

    bench_web.run_users([threading.Thread(target=user, args=(i,)) for i in range(USERS)])
    return bench_web.latency_summary(timings, errors)


def measure(clients: int) -> dict:
    bench_kpis.ensure_tickets(1_000_000, clients)
    remove_imported()  # a run stopped half-way leaves none behind for the next
    env, pages = bench_web.production_prepared()
    session = pages.pop("session")
    paths = [pages["dashboard"], pages["tickets"]]
    export = new_tickets_file(clients)
    port = bench_web.free_port()
    server = bench_web.serve(env, port)
    result: dict = {}
    try:
        for path in paths:
            bench_web.warm(port, session, path)
        # (b) first, so (a) can run for exactly as long as the import took.
        busy = threading.Event()
        busy.set()
        outcome = {}

        def run_import():
            started = time.perf_counter()
            outcome.update(bench_import.run_import_child(export, clients, as_worker=True))
            outcome["wall"] = time.perf_counter() - started
            busy.clear()

        importer = threading.Thread(target=run_import)
        importer.start()
        result["import"] = load_while(port, session, paths, busy)
        importer.join()
        busy.set()
        timer = threading.Timer(outcome["wall"], busy.clear)
        timer.start()
        result["baseline"] = load_while(port, session, paths, busy)
        result["import_run"] = outcome
    finally:
        server.terminate()
        server.wait(timeout=30)
        result["removed"] = remove_imported()
    return result


def record(m: dict) -> None:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    run = m["import_run"]
    rows = [
        f"\n## bench-load, {date.today().isoformat()}\n",
        f"The bench-kpis database (1,000,000 tickets, 200 clients), gunicorn as gunicorn.conf.py "
        f"sets it ({bench_web.server_workers()} sync workers), production settings; {USERS} users "
        f"on loopback, each alternating between the dashboard and the filtered ticket list; "
        f"{machine}.\n",
        "| load | requests | p50 | p95 | max | errors | p95 / baseline p95 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, label in (
        ("baseline", "no import (baseline)"),
        ("import", f"while {IMPORT_ROWS:,} tickets are imported"),
    ):
        r = m[name]
        rows.append(
            f"| {label} | {r['requests']} | {r['p50_ms']:.0f} ms | {r['p95_ms']:.0f} ms | "
            f"{r['max_ms']:.0f} ms | {r['errors']} | "
            f"{r['p95_ms'] / m['baseline']['p95_ms']:.1f} |"
        )
    rows += [
        "",
        f"The import: {run['status']}, created {run['created']:,}, rejected {run['rejected']}, "
        f"{run['seconds']:.1f} s in its process ({run['wall']:.1f} s with start-up); its "
        f"{m['removed']:,} tickets were deleted afterwards. Target: no errors, p95 ≤ 300 ms.",
    ]
    with RESULTS.open("a") as handle:
        handle.write("\n".join(rows) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    m = measure(200)
    print(json.dumps(m, indent=2, default=str))
    if not args.no_record:
        record(m)


if __name__ == "__main__":
    main()
