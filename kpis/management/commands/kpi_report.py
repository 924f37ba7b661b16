"""python manage.py kpi_report --client SLUG --period 2025-Q3 [--format json|text]"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from contracts.models import Organisation
from contracts.selectors import current_contract
from kpis.metrics.cost import COST_KEYS
from kpis.metrics.period import Period
from kpis.metrics.recompute import kpis_recompute
from kpis.metrics.registry import KEYS_IN_ORDER, RULES, values_in_order
from kpis.models import KpiSnapshot, RecomputeRequest
from msp_portal.units import money
from reconciliation.services import msp_report_of


def _text(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items()) or "—"
    if isinstance(value, list):
        return f"{len(value)} cluster(s)" + "".join(
            f"\n{'':36}{c['fingerprint']} ×{c['count']}" for c in value[:5]
        )
    return str(value)


class Command(BaseCommand):
    help = "Print a client's KPIs for a month, quarter or year (the keys of docs/kpis.md)."

    def _recompute_if_stale(self, client: Organisation) -> None:
        """Months an import changed and no recompute has run since: computed first, so the
        report never prints figures its tickets have moved on from."""
        stale = RecomputeRequest.objects.filter(client=client).count()
        if stale:
            self.stderr.write(
                f"{stale} month(s) of {client.name} changed since the figures were computed: "
                "recomputing them first."
            )
            kpis_recompute(client, full=False)

    def add_arguments(self, parser):
        parser.add_argument("--client", required=True, help="the client's slug")
        parser.add_argument("--period", required=True, help="2025-07, 2025-Q3 or 2025")
        parser.add_argument("--format", choices=["json", "text"], default="text")
        parser.add_argument(
            "--commitments",
            action="store_true",
            help="in JSON, also `commitments.due`: the occurrences behind commitments.kept_rate "
            "(the text always lists them)",
        )

    def handle(self, *args, **options):
        client = Organisation.objects.filter(slug=options["client"], kind="client").first()
        if client is None:
            raise CommandError(f"--client: no client with the slug '{options['client']}'")
        try:
            Period.parse(options["period"], "UTC")
        except ValueError as error:
            raise CommandError(f"--period: {error}") from None
        self._recompute_if_stale(client)
        snapshot = KpiSnapshot.objects.filter(client=client, period_label=options["period"]).first()
        if snapshot is None:
            raise CommandError(
                f"no KPIs stored for {client.name} in {options['period']}: no tickets in that "
                "period, or not computed yet (imports trigger a recompute; nightly for all)"
            )
        reported = _reported(client, snapshot.period_label)
        agreed = _agreed(snapshot)
        contract = current_contract(client=client)
        due = _occurrences_due(contract, snapshot.period_label) if contract is not None else []
        if options["format"] == "json":
            ordered = values_in_order(snapshot.values) | agreed | reported
            if options["commitments"]:
                ordered["commitments.due"] = due
            self.stdout.write(json.dumps(ordered, indent=2, ensure_ascii=False))
            return
        self.stdout.write(
            f"{client.name} — {snapshot.period_label} ({snapshot.period_kind}), "
            f"computed {snapshot.computed_at:%Y-%m-%d %H:%M} UTC"
        )
        currency = contract.currency if contract is not None else ""
        for key in KEYS_IN_ORDER:
            figure = snapshot.figures.get(key, {})
            value, numerator = snapshot.values.get(key), figure.get("numerator")
            shown, ratio = _text(value), ""
            if key in COST_KEYS:  # amounts: two decimals and the contract's currency
                shown = money(value, currency) if value is not None else _text(None)
                numerator = money(numerator, currency) if numerator is not None else None
            elif numerator is not None:
                numerator = _text(numerator)
            if figure.get("denominator") is not None and numerator is not None:
                ratio = f"  ({numerator} / {figure['denominator']})"
            rule = RULES.get(key)
            if rule is not None and rule.missing and figure.get("note") == rule.missing:
                ratio += f"  ({rule.missing})"  # why a rate is empty: docs/kpis.md
            self.stdout.write(f"  {key:<36}{shown}{ratio}")
        for key, value in agreed.items():
            self.stdout.write(f"  {key:<36}{_text(value)}  (as agreed: accepted disputes)")
        for key, value in reported.items():
            self.stdout.write(f"  {key:<36}{_text(value)}  (the MSP's own report)")
        if due:
            self.stdout.write("  commitments due in the period (behind commitments.kept_rate):")
        for item in due:
            self.stdout.write(
                f"    {item['commitment']}, due {item['due']}: {item['status']}"
                + (f"; {item['measured'].rstrip('.')}" if item["measured"] else "")
                + (f"; the rows behind it: {item['rows']}" if item["rows"] else "")
            )


def _agreed(snapshot: KpiSnapshot) -> dict:
    """`agreed.<key>` for each figure accepted disputes moved (docs/kpis.md, "As measured and
    as agreed"); the credits among them are the ones due."""
    agreed = (snapshot.agreed or {}).get("values") or {}
    return {
        f"agreed.{key}": agreed[key]
        for key in KEYS_IN_ORDER
        if key in agreed and agreed[key] != snapshot.values.get(key)
    }


def _reported(client: Organisation, period_label: str) -> dict[str, float]:
    """`reported.<key>` for each figure the MSP's report states for the period (issue 22)."""
    contract = current_contract(client=client)
    report = contract and msp_report_of(contract=contract, period_label=period_label)
    if not report:
        return {}
    return {f"reported.{figure.key}": figure.value for figure in report.figures.all()}


def _occurrences_due(contract, label: str) -> list[dict]:
    """The commitment occurrences commitments.kept_rate counts for the period (due in it before
    today), each with its status today, what the MSP's reports show for a measured one, and the
    page of the rows behind it."""
    from django.db.models import Count

    from contracts.models import CommitmentOccurrence
    from contracts.services.commitments import contract_today
    from evidence.measures import drilldown, measure_words

    period = Period.parse(label, contract.timezone)
    today = contract_today(contract)
    labels = dict(CommitmentOccurrence.Status.choices)
    occurrences = (
        CommitmentOccurrence.objects.filter(
            commitment__contract=contract,
            due_date__gte=period.first_day,
            due_date__lt=min(period.next_first_day, today),
        )
        .select_related("commitment")
        .annotate(evidence_count=Count("evidence"))
        .order_by("due_date", "commitment__name")
    )
    out = []
    for occ in occurrences:
        kind = occ.commitment.measured_by
        behind = drilldown(kind, contract.client.slug, contract.pk, occ.pk) if occ.measure else None
        out.append(
            {
                "commitment": occ.commitment.name,
                "due": occ.due_date.isoformat(),
                "status": labels[occ.status_on(today, occ.evidence_count)],
                "measured": measure_words(kind, occ.measure) if kind else "",
                "rows": behind[0] if behind else "",
            }
        )
    return out
