"""make bench-qbr: the demo client's QBR PDF with a warm worker, against a browser per chart.

Uses its own database (msp_portal_bench_qbr, created and loaded with the demo on first use) on
the server of DATABASE_URL. One process, as a Celery worker holds it: the first PDF starts
kaleido's Chromium and loads WeasyPrint's fonts (the warm-up); the timed runs then build the
review from the stored figures and render the PDF, as `review_pdf_generate` does. The baseline
is the same PDF with a fresh browser started for every chart, the way kaleido works without a
long-lived server.

    python -m msp_portal.devstack script benchmarks/bench_qbr.py [--runs 5] [--no-record]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BENCH_DB = "msp_portal_bench_qbr"
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
CLIENT = "acme-dental"


def ensure_demo() -> str:
    """The benchmark database with the demo loaded (seed_demo is idempotent); its URL."""
    import psycopg2

    parts = urlsplit(os.environ["DATABASE_URL"])
    admin = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB])
        if cur.fetchone() is None:
            cur.execute(f"CREATE DATABASE {BENCH_DB}")
    admin.close()
    url = urlunsplit(parts._replace(path=f"/{BENCH_DB}"))
    env = {**os.environ, "DATABASE_URL": url}
    for command in (["migrate", "-v0"], ["seed_demo"]):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return url


def one_pdf(contract, quarter: str) -> tuple[float, int, int]:
    """Build the review's content and render its PDF: (seconds, pages, bytes)."""
    from reviews.context import board_part, review_data_build
    from reviews.generation import content_pdf

    started = time.perf_counter()
    content = review_data_build(contract, quarter)
    content.update(
        msp_commentary="",
        advisor_commentary="",
        attendees=[],
        version=1,
        next_review_on=None,
        action_items=[],
        correction_note="",
        status="draft",
    )
    content.update(board_part(content))  # the scorecard and the rest the page derives
    pdf, pages = content_pdf(content, contract.client)
    return time.perf_counter() - started, pages, len(pdf)


def browser_per_chart(figure: dict, width: int = 900, height: int | None = None) -> bytes:
    """The baseline's chart export: kaleido starting (and closing) its own Chromium each time."""
    import kaleido

    from reviews.pdf import _plotly_js

    opts = {"format": "svg", "width": width, "height": height or figure["layout"]["height"]}
    return asyncio.run(
        kaleido.calc_fig(figure, opts=opts, kopts={"plotlyjs": _plotly_js(), "mathjax": False})
    )


def measure(runs: int, baseline_runs: int) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "msp_portal.settings")
    import django

    django.setup()
    from contracts.models import Organisation
    from contracts.selectors import current_contract
    from kpis.models import KpiSnapshot
    from reviews import pdf as pdf_module

    client = Organisation.objects.get(slug=CLIENT)
    contract = current_contract(client=client)
    quarter = (
        KpiSnapshot.objects.filter(
            client=client, period_kind="quarter", **{"values__tickets.created__gt": 0}
        )
        .order_by("-period_start")
        .values_list("period_label", flat=True)
        .first()
    )
    warm_up = one_pdf(contract, quarter)
    ours = [one_pdf(contract, quarter) for _ in range(runs)]
    server_chart = pdf_module.chart_svg
    pdf_module.chart_svg = browser_per_chart
    try:
        baseline = [one_pdf(contract, quarter) for _ in range(baseline_runs)]
    finally:
        pdf_module.chart_svg = server_chart
    from reviews.context import review_data_build

    charts = len(review_data_build(contract, quarter)["charts"])
    return {
        "quarter": quarter,
        "charts": charts,
        "warm_up": warm_up[0],
        "ours": [r[0] for r in ours],
        "pages": ours[0][1],
        "bytes": ours[0][2],
        "baseline": [r[0] for r in baseline],
    }


def record(m: dict) -> None:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    ours, base = statistics.median(m["ours"]), statistics.median(m["baseline"])
    runs = ", ".join(f"{s:.2f}" for s in m["ours"])
    base_runs = ", ".join(f"{s:.2f}" for s in m["baseline"])
    rows = [
        f"\n## bench-qbr, {date.today().isoformat()}\n",
        f"The demo client ({CLIENT}), {m['quarter']}: {m['pages']} pages, {m['charts']} charts, "
        f"{m['bytes'] / 1024:.0f} KB; {machine}; Debian's chromium through kaleido.\n",
        "| measure | value | target |",
        "|---|---|---|",
        f"| first PDF in a fresh process (starts Chromium, loads fonts) | {m['warm_up']:.2f} s | |",
        f"| PDF with a warm worker, median of {len(m['ours'])} ({runs} s) | {ours:.2f} s | ≤ 5 s |",
        f"| baseline: a browser started per chart, median of {len(m['baseline'])} "
        f"({base_runs} s) | {base:.2f} s | |",
        f"| ratio baseline / ours | {base / ours:.1f} × faster | |",
    ]
    with RESULTS.open("a") as handle:
        handle.write("\n".join(rows) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline-runs", type=int, default=2)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = ensure_demo()
    m = measure(args.runs, args.baseline_runs)
    ours = statistics.median(m["ours"])
    print(
        f"{m['quarter']}: {m['pages']} pages, {m['charts']} charts; warm-up {m['warm_up']:.2f}"
        f" s; ours {ours:.2f} s (median of {m['ours']}); baseline "
        f"{statistics.median(m['baseline']):.2f} s ({m['baseline']})"
    )
    if not args.no_record:
        record(m)


if __name__ == "__main__":
    main()
