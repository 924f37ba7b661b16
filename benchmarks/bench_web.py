"""make bench-web: the dashboard and a filtered ticket list under 20 concurrent users, on the
million-ticket benchmark database, served the way production serves them (gunicorn, production
settings, compressed static files with hashed names).

Measures in one run: (a) the baseline, the log-in page (a template and a session, no figures)
under the same load; (b) the dashboard; (c) the ticket list behind a figure, narrowed to the
breaches; p50 / p95 / max latency on loopback and errors; (d) the bytes a first visit transfers
compressed, and whether static files carry hashed names and a far-future cache header.

    python -m msp_portal.devstack script benchmarks/bench_web.py [--no-record]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import runpy
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import bench_import, bench_kpis  # noqa: E402

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
USERS, REQUESTS_EACH = 20, 25
PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "DJANGO_SECRET_KEY": "bench-web-" + "x" * 50,
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "false",
    "SECURE_COOKIES": "false",
    "SECURE_HSTS_SECONDS": "0",
}


def stage_prepare() -> None:
    """Figures for every client (recomputed if missing) and an owner of the first client;
    prints the owner's session key and the URLs to load."""
    bench_import.django_setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from contracts.models import Membership, Organisation
    from kpis.metrics.recompute import kpis_recompute_clients
    from kpis.metrics.store import RECOMPUTED_TABLES
    from kpis.models import KpiSnapshot
    from msp_portal import sql

    clients = list(Organisation.objects.filter(kind="client").order_by("slug"))
    if not KpiSnapshot.objects.exists():
        kpis_recompute_clients(clients, full=True)
    # What that recompute ends with, for a database an older one left without statistics.
    sql.analyze_if_stale(RECOMPUTED_TABLES)
    client = clients[0]
    user, _ = get_user_model().objects.get_or_create(email="owner@bench.test")
    Membership.objects.get_or_create(
        user=user, organisation=client, defaults={"role": Membership.Role.ADMIN}
    )
    browser = Client()
    browser.force_login(user)
    label = (
        KpiSnapshot.objects.filter(client=client, period_kind="quarter")
        .order_by("-period_start")
        .values_list("period_label", flat=True)
        .first()
    )
    print(
        json.dumps(
            {
                "session": browser.cookies["sessionid"].value,
                "dashboard": f"/clients/{client.slug}/dashboard/?period={label}",
                "tickets": f"/clients/{client.slug}/tickets/?period={label}"
                "&figure=resolution.compliance&verdict=breached",
                "baseline": "/accounts/login/",
            }
        )
    )


def server_workers() -> int:
    """The worker count gunicorn.conf.py gives this machine (read from the file itself)."""
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))["workers"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(env: dict, port: int) -> subprocess.Popen:
    # Production's own settings (gunicorn.conf.py: one sync worker per core, access log on),
    # bound to loopback; the access log goes nowhere but is still written.
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "gunicorn.conf.py",
            "msp_portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        cwd=ROOT,
        env={**env, "GUNICORN_LOG_LEVEL": "warning"},
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit("gunicorn did not start")


def load(port: int, session: str, path: str) -> dict:
    """USERS threads, each with its own keep-alive connection, REQUESTS_EACH requests; every
    response must be a 200."""
    timings, errors = [], []
    lock = threading.Lock()

    def user():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(REQUESTS_EACH):
            elapsed, status = timed_get(conn, path, session)
            with lock:
                timings.append(elapsed)
                if status != 200:
                    errors.append(status)
        conn.close()

    run_users([threading.Thread(target=user) for _ in range(USERS)])
    return latency_summary(timings, errors)


def timed_get(conn: http.client.HTTPConnection, path: str, session: str) -> tuple[float, int]:
    """One GET on a keep-alive connection, read to the end: (seconds, status)."""
    started = time.perf_counter()
    conn.request("GET", path, headers={"Cookie": f"sessionid={session}"} if session else {})
    response = conn.getresponse()
    response.read()
    return time.perf_counter() - started, response.status


def run_users(threads: list[threading.Thread]) -> None:
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def latency_summary(timings: list[float], errors: list) -> dict:
    """Requests, errors and the p50 / p95 (nearest rank) / max latency in milliseconds."""
    timings = sorted(timings)
    return {
        "requests": len(timings),
        "errors": len(errors),
        "p50_ms": statistics.median(timings) * 1000,
        "p95_ms": timings[int(len(timings) * 0.95) - 1] * 1000,
        "max_ms": timings[-1] * 1000,
    }


def warm(port: int, session: str, path: str, times: int = 8) -> None:
    for _ in range(times):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", path, headers={"Cookie": f"sessionid={session}"})
        conn.getresponse().read()
        conn.close()


def first_visit(port: int, session: str, path: str) -> dict:
    """Bytes on the wire for the page and every script and stylesheet it names, compressed as
    Chromium asks (br, gzip), and the cache headers of those assets."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Cookie": f"sessionid={session}", "Accept-Encoding": "br, gzip"}
    conn.request("GET", path, headers=headers)
    page = conn.getresponse()
    body = page.read()
    total = len(body)
    html = body.decode() if page.getheader("Content-Encoding") is None else ""
    if not html:  # the page itself came compressed: read it again plain for its links
        conn.request("GET", path, headers={"Cookie": f"sessionid={session}"})
        html = conn.getresponse().read().decode()
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    hashed, cached = True, True
    for asset in assets:
        conn.request("GET", asset, headers=headers)
        response = conn.getresponse()
        total += len(response.read())
        hashed &= bool(re.search(r"\.[0-9a-f]{12}\.\w+$", asset))
        cached &= "max-age=315360000" in (response.getheader("Cache-Control") or "")
    return {"bytes": total, "assets": len(assets), "hashed": hashed, "cached": cached}


def record(m: dict) -> None:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    rows = [
        f"\n## bench-web, {date.today().isoformat()}\n",
        f"The bench-kpis database (1,000,000 tickets, 200 clients), gunicorn as gunicorn.conf.py "
        f"sets it ({server_workers()} sync workers), production settings, {USERS} concurrent "
        f"users × {REQUESTS_EACH} requests per page on loopback; {machine}.\n",
        "| page | p50 | p95 | max | errors | p95 / baseline p95 |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("baseline", "dashboard", "tickets"):
        r = m[name]
        rows.append(
            f"| {m['paths'][name]} | {r['p50_ms']:.0f} ms | {r['p95_ms']:.0f} ms | "
            f"{r['max_ms']:.0f} ms | {r['errors']} of {r['requests']} | "
            f"{r['p95_ms'] / m['baseline']['p95_ms']:.1f} |"
        )
    f = m["first_visit"]
    rows += [
        "",
        f"First visit to the dashboard: {f['bytes'] / 2**20:.2f} MB transferred compressed "
        f"(page and {f['assets']} static files; target ≤ 1.5 MB). Static names hashed: "
        f"{'yes' if f['hashed'] else 'no'}; cached for ten years: "
        f"{'yes' if f['cached'] else 'no'}, so a repeat view fetches only the page. "
        "Targets: p95 ≤ 150 ms, no errors.",
    ]
    with RESULTS.open("a") as handle:
        handle.write("\n".join(rows) + "\n")


def production_prepared() -> tuple[dict, dict]:
    """The environment of the production server (static files collected) and the pages to
    load with the session to load them as, from the prepare stage in a process of its own."""
    env = {**os.environ, "DATABASE_URL": bench_import.bench_url(), **PRODUCTION_ENV}
    manage = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"]
    subprocess.run(manage, cwd=ROOT, env=env, check=True)
    prepared = subprocess.run(
        [sys.executable, __file__, "--stage", "prepare"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return env, json.loads(prepared.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--stage", choices=["all", "prepare"], default="all")
    args = parser.parse_args()
    if args.stage == "prepare":
        return stage_prepare()
    bench_kpis.ensure_tickets(1_000_000, 200)
    env, paths = production_prepared()
    session = paths.pop("session")
    port = free_port()
    server = serve(env, port)
    try:
        for path in paths.values():  # warm both workers (imports, connections, caches)
            warm(port, session, path)
        # The baseline is the log-in page as a visitor sees it: no session, no figures.
        measured = {
            name: load(port, None if name == "baseline" else session, path)
            for name, path in paths.items()
        }
        measured["first_visit"] = first_visit(port, session, paths["dashboard"])
    finally:
        server.terminate()
        server.wait(timeout=30)
    measured["paths"] = paths
    print(json.dumps(measured, indent=2))
    if not args.no_record:
        record(measured)


if __name__ == "__main__":
    main()
