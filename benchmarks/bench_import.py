"""make bench-import: a million-row ConnectWise export over 200 clients, then an event log of
5,000,000 updates of 500,000 tickets (folded, and stored with its history), each in one run.

(a) the floor: a bare PostgreSQL COPY of the file into an indexed table of text columns;
(b) our import end to end (read, map, check, fold, COPY + set-based upsert, problems, marks);
(c) the same file again (must write nothing);
(d) the peak resident memory of the import process.
Targets: (b)/(a) ≤ 2.5 for the one-row export, ≤ 3 for the event log; peak ≤ 1.5 GB for both.
Each import runs in a fresh child process so its peak memory is its own. The benchmark uses its
own database (BENCH_DB, default msp_portal_bench, recreated each run) on the same server as
DATABASE_URL; set BENCH_DB to keep concurrent benchmark runs from dropping each other's database.

    python -m msp_portal.devstack script benchmarks/bench_import.py [--rows N] [--clients N]
        [--event-tickets N] [--only rows|events]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Every stage and child process reads the same name: children inherit the environment.
BENCH_DB = os.environ.get("BENCH_DB", "msp_portal_bench")
RESULTS = ROOT / "benchmarks" / "RESULTS.md"


def bench_url() -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{BENCH_DB}"))


def admin_connect():
    import psycopg2

    parts = urlsplit(os.environ["DATABASE_URL"])
    dsn = urlunsplit(parts._replace(path="/postgres"))
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    return conn


def setup_database(clients: int) -> None:
    conn = admin_connect()
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        cur.execute(f"CREATE DATABASE {BENCH_DB}")
    conn.close()
    env = {**os.environ, "DATABASE_URL": bench_url()}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [sys.executable, __file__, "--stage", "seed", "--clients", str(clients)],
        cwd=ROOT,
        env=env,
        check=True,
    )


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "msp_portal.settings")
    import django

    django.setup()


def stage_seed(clients: int) -> None:
    """One MSP holding a contract with each of the generated clients: the demo contract's SLA,
    calendars, matrix and commitments, effective before the first generated ticket."""
    django_setup()
    import yaml

    from benchmarks.generate import client_names
    from contracts.contract_file import contract_file_parse
    from contracts.services.contract_apply import contract_apply

    template = yaml.safe_load((ROOT / "contracts" / "demo" / "acme-dental.yaml").read_text())
    template.pop("advisor")
    template["msp"] = {"slug": "bench-msp", "name": "Bench MSP"}
    template["contract"] |= {"name": "Managed services", "starts": date(2024, 1, 1)}
    template["sla"]["effective_from"] = date(2024, 1, 1)
    for i, name in enumerate(client_names(clients)):
        template["client"] |= {"slug": f"bench-client-{i:03d}", "name": name}
        contract_apply(data=contract_file_parse(yaml.safe_dump(template)), recompute=False)


def _events_mapping(header: list[str], clients: int):
    from benchmarks.generate import client_names
    from kpis.imports.ingest.mapping import mapping_for_preset
    from kpis.imports.ingest.presets import PRESETS

    mapping = mapping_for_preset(PRESETS["event_log"], header, timezone="UTC")
    mapping.pause_states = ["waiting customer", "awaiting vendor"]
    mapping.clients = {n: f"bench-client-{i:03d}" for i, n in enumerate(client_names(clients))}
    assert mapping.columns["updated_at"] == "Updated", mapping.columns
    return mapping


def peak_resident_mb() -> float:
    """This process's peak resident memory in MiB: the kernel's high-water mark of its own
    address space (VmHWM), which starts afresh at exec. ru_maxrss does not: Linux keeps the
    forked copy of the parent in it, so a run that had just generated its file (the parent at
    about 2.4 GB) reported that as the import's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stage_import(path: Path, clients: int, as_worker: bool = False) -> None:
    """One import in this process; prints its counts, wall time and peak memory as JSON."""
    django_setup()
    if as_worker:
        from django.conf import settings

        from msp_portal.celery import lower_priority

        lower_priority(settings.WORKER_NICENESS)
    from benchmarks.generate import client_names
    from contracts.models import Organisation
    from kpis.imports.ingest.mapping import mapping_for_preset
    from kpis.imports.ingest.presets import PRESETS, header_key
    from kpis.imports.services import import_file_sync

    header = path.open(encoding="utf-8").readline().strip().split(",")
    if path.name.startswith("events-"):
        mapping = _events_mapping(header, clients)
    else:
        mapping = mapping_for_preset(PRESETS["connectwise"], header, timezone="America/Chicago")
        mapping.clients = {n: f"bench-client-{i:03d}" for i, n in enumerate(client_names(clients))}
        assert header_key(header[0]) == "ticket"
    started = time.perf_counter()
    from kpis.models import TicketEvent

    job = import_file_sync(
        msp=Organisation.objects.get(slug="bench-msp"),
        client=None,
        user=None,
        via="command",
        name=path.name,
        content=path.read_bytes(),
        mapping_json=mapping.to_json(),
    )
    seconds = time.perf_counter() - started
    peak_mb = peak_resident_mb()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mb": peak_mb,
                "status": job.status,
                "created": job.created,
                "updated": job.updated,
                "unchanged": job.unchanged,
                "rejected": job.rejected,
                "message": job.message,
                "phases": job.phase_seconds,
                "updates_stored": TicketEvent.objects.count(),
            }
        )
    )


def floor_copy(path: Path) -> float:
    """A bare COPY of the file into an indexed table of text columns: what no importer beats."""
    import psycopg2

    header = path.open(encoding="utf-8").readline().strip().split(",")
    columns = ", ".join(f"c{i} text" for i in range(len(header)))
    conn = psycopg2.connect(bench_url())
    with conn, conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS bench_floor; CREATE TABLE bench_floor ({columns})")
        if path.name.startswith("events-"):  # company, ticket: a ticket has many rows
            cur.execute("CREATE INDEX ON bench_floor (c1, c0)")
        else:
            cur.execute("CREATE UNIQUE INDEX ON bench_floor (c1, c0)")  # company, ticket number
        started = time.perf_counter()
        with path.open("rb") as handle:
            cur.copy_expert("COPY bench_floor FROM STDIN WITH (FORMAT csv, HEADER true)", handle)
        seconds = time.perf_counter() - started
    conn.close()
    return seconds


def run_import_child(path: Path, clients: int, *, as_worker: bool = False) -> dict:
    """The import in a process of its own; `as_worker`: at the priority a Celery worker gives
    itself (settings.WORKER_NICENESS), as when a worker imports while pages are served."""
    env = {**os.environ, "DATABASE_URL": bench_url()}
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--stage",
            "import",
            "--file",
            str(path),
            "--clients",
            str(clients),
            *(["--as-worker"] if as_worker else []),
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--stage", choices=["all", "seed", "import"], default="all")
    parser.add_argument("--file", type=Path)
    parser.add_argument("--as-worker", action="store_true", help="at a worker's niceness")
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    parser.add_argument("--event-tickets", type=int, default=500_000, help="ten updates each")
    parser.add_argument("--only", choices=["rows", "events"], help="one of the two runs")
    args = parser.parse_args()
    if args.stage == "seed":
        return stage_seed(args.clients)
    if args.stage == "import":
        return stage_import(args.file, args.clients, args.as_worker)

    data = ROOT / ".data" / "bench"
    data.mkdir(parents=True, exist_ok=True)
    runs = []
    if args.only in (None, "rows"):
        runs.append(("rows", data / f"connectwise-{args.rows}-{args.clients}.csv", 2.5))
    if args.only in (None, "events"):
        runs.append(("events", data / f"events-{args.event_tickets}-{args.clients}.csv", 3.0))
    for kind, path, target in runs:
        measure(args, kind, path, target)


def measure(args, kind: str, path: Path, target: float) -> None:
    from benchmarks.generate import event_log_frame, export_frame

    if not path.exists():
        print(f"generating {path.name} ...", flush=True)
        if kind == "rows":
            export_frame(args.rows, args.clients).write_csv(path)
        else:
            event_log_frame(args.event_tickets, args.clients).write_csv(path)
    print(f"fresh benchmark database ({path.name}) ...", flush=True)
    setup_database(args.clients)
    floor = floor_copy(path)
    print(f"(a) bare COPY into an indexed table: {floor:.2f} s", flush=True)
    first = run_import_child(path, args.clients)
    print(f"(b) import: {first['seconds']:.2f} s, peak {first['peak_mb']:.0f} MB, {first}")
    again = run_import_child(path, args.clients)
    print(f"(c) same file again: {again['seconds']:.2f} s, peak {again['peak_mb']:.0f} MB, {again}")
    ratio = first["seconds"] / floor
    faster = again["seconds"] <= first["seconds"]
    print(f"ratio (b)/(a) = {ratio:.2f} (target <= {target}); (c) <= (b): {faster}")
    if not args.no_record:
        record(args, kind, path, floor, first, again, ratio, target)


def _phases(result: dict) -> str:
    return ", ".join(f"{name} {seconds:.2f} s" for name, seconds in result["phases"].items())


def record(
    args, kind: str, path: Path, floor: float, first: dict, again: dict, ratio: float, target
) -> None:
    size_mb = path.stat().st_size / 2**20
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    server = (
        "the machine's PostgreSQL"
        if "127.0.0.1" in os.environ["DATABASE_URL"]
        else ("embedded PostgreSQL")
    )
    if kind == "rows":
        what = f"{args.rows:,} rows, {args.clients} clients, ConnectWise layout"
    else:
        what = (
            f"event log: {args.event_tickets * 10:,} update rows of {args.event_tickets:,} "
            f"tickets, {args.clients} clients, folded and stored with "
            f"{first['updates_stored']:,} updates of history"
        )
    title = "bench-import" if kind == "rows" else "bench-import (event log)"
    lines = [
        f"\n## {title}, {date.today().isoformat()}\n",
        f"{what}, {size_mb:.0f} MB; {machine}; {server}.\n",
        "| measure | value |",
        "|---|---|",
        f"| (a) bare COPY into an indexed text table (floor) | {floor:.2f} s |",
        f"| (b) our import end to end | {first['seconds']:.2f} s "
        f"(created {first['created']:,}, rejected {first['rejected']}) |",
        f"| (c) the same file again | {again['seconds']:.2f} s "
        f"(created {again['created']}, updated {again['updated']}, "
        f"unchanged {again['unchanged']:,}) |",
        f"| (d) peak RSS of the import process | {max(first['peak_mb'], again['peak_mb']):.0f} MB"
        " |",
        f"| ratio (b) / (a) | {ratio:.2f} (target ≤ {target}) |",
        f"| (b) by phase | {_phases(first)} |",
        f"| (c) by phase | {_phases(again)} |",
        "",
    ]
    with RESULTS.open("a", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
    print(f"recorded in {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
