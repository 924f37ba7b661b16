"""The demo as `seed_demo` builds it: Acme's "Critical patches installed within 30 days" is
measured from the invented patch reports of evidence/demo/ (Datto RMM and NinjaOne, exported
every quarter from October 2025 to July 2026), kept month by month from July 2025 to June 2026
but for January 2026, and it shows as such on the commitments page, on the dashboard's verdict
strip and in `kpi_report`. Seeding again changes nothing.

January 2026 by hand: December's critical updates, released 9 December 2025, fall due 30 days
later, on 8 January. Eleven devices; days from release to install (acme-datto-rmm-2026-04-02.csv):
WS-004 2, WS-007 3, WS-008 3, WS-002 5, WS-001 6, WS-005 8, SRV-SQL01 11, SRV-DC01 12,
SRV-FILE01 14, WS-003 36, WS-006 36 (held over the holidays, installed 14 January: late).
9 of 11 on time; median the 6th of 11 = 8 days; p90 nearest rank ceil(0.9 × 11) = 10th = 36.
"""

from __future__ import annotations

import io
import json
import re

from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from contracts.models import CommitmentOccurrence, Contract
from evidence.models import PatchRow, ToolReport
from kpis.models import KpiSnapshot

PATCHES = "Critical patches installed within 30 days"
JANUARY = "9 of 11 patches on time, median 8 days, p90 36 days"


def _seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def _kpi_report(period: str, form: str = "text") -> str:
    out = io.StringIO()
    call_command(
        "kpi_report", "--client", "acme-dental", "--period", period, "--format", form, stdout=out
    )
    return out.getvalue()


def test_the_demo_measures_acmes_patches_kept_and_missed_and_seeds_once(db, django_user_model):
    first = _seed()
    assert "acme-datto-rmm-2025-10-03.csv: 44 rows" in first
    contract = Contract.objects.get(client__slug="acme-dental")
    commitment = contract.commitments.get(name=PATCHES)
    assert (commitment.measured_by, commitment.within_days) == ("patches", 30)
    measured = {
        o.period_start.strftime("%Y-%m"): o
        for o in commitment.occurrences.filter(measure__isnull=False)
    }
    # (a) July 2025 to June 2026 measured: the last report (2 July 2026) covers June's end.
    assert sorted(measured) == [f"2025-{m:02d}" for m in range(7, 13)] + [
        f"2026-{m:02d}" for m in range(1, 7)
    ]
    verdicts = {month: o.measure["kept"] for month, o in measured.items()}
    assert [month for month, kept in verdicts.items() if not kept] == ["2026-01"]
    january = measured["2026-01"]
    assert january.measure == {
        "on_time": 9,
        "counted": 11,
        "median_days": 8.0,
        "p90_days": 36,
        "kept": False,
    }

    # (b) The pages: the commitments page says it in words, the dashboard's verdict strip
    # counts the missed month among January's commitments.
    owner = django_user_model.objects.get(email="owner@acme.example")
    web = Client()
    web.force_login(owner)
    page = web.get(reverse("contract_commitments", args=["acme-dental", contract.pk]))
    html = page.content.decode()
    assert JANUARY in html and "Missed (measured)" in html
    dashboard = web.get(reverse("client_dashboard", args=["acme-dental"]), {"period": "2026-01"})
    strip = " ".join(re.sub(r"<[^>]+>", " ", dashboard.content.decode()).split())
    january_due = CommitmentOccurrence.objects.filter(
        commitment__contract=contract,
        commitment__is_active=True,
        due_date__year=2026,
        due_date__month=1,
    )
    snapshot = KpiSnapshot.objects.get(client=contract.client, period_label="2026-01")
    figure = snapshot.figures["commitments.kept_rate"]
    assert figure["denominator"] == january_due.count()
    assert f"missed Commitments kept: {figure['numerator']} of {figure['denominator']}" in strip

    # The patch reports page draws the twelve months, January's point a cross; the scorecard's
    # comparison draws Northwind's measured quarters.
    reports = web.get(reverse("patch_reports", args=["acme-dental", contract.pk])).context
    (trace,) = reports["charts"][f"trend-{commitment.pk}"]["data"]
    assert trace["x"][0] == "Jul 2025" and trace["x"][-1] == "Jun 2026" and len(trace["x"]) == 12
    assert [x for x, s in zip(trace["x"], trace["marker"]["symbol"], strict=True) if s == "x"] == [
        "Jan 2026"
    ]
    assert trace["y"][trace["x"].index("Jan 2026")] == round(9 / 11 * 100, 2)  # 81.82
    compare = web.get(reverse("scorecard_compare", args=["acme-dental"]))
    assert "2026-Q2" in compare.context["history"]["labels"]  # the last quarter with tickets
    assert 'id="chart-history"' in compare.content.decode()

    # (c) kpi_report prints the same figure with the rows it counts.
    line = next(
        text.strip()
        for text in _kpi_report("2026-01").splitlines()
        if text.strip().startswith("commitments.kept_rate")
    )
    assert line.endswith(f"({figure['numerator']} / {figure['denominator']})"), line
    # The missed patch month is among January's commitments not kept.
    rate = json.loads(_kpi_report("2026-01", "json"))["commitments.kept_rate"]
    assert rate == figure["numerator"] / figure["denominator"] and rate < 1

    # (d) Seeding again imports nothing and changes no row.
    counts = (ToolReport.objects.count(), PatchRow.objects.count())
    patch_reports = ToolReport.objects.filter(kind="patches").count()
    measures = list(commitment.occurrences.order_by("pk").values_list("measure", flat=True))
    second = _seed()
    assert re.search(r"\.csv: \d+ rows", first) and not re.search(r"\.csv: \d+ rows", second)
    assert (ToolReport.objects.count(), PatchRow.objects.count()) == counts
    # 13 monthly critical updates (June 2025 to June 2026) on 11 devices, and one Important
    # .NET update on 4 workstations: 147 pairs, from 4 reports.
    assert (patch_reports, counts[1]) == (4, 147)
    assert list(commitment.occurrences.order_by("pk").values_list("measure", flat=True)) == (
        measures
    )
