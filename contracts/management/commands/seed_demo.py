"""python manage.py seed_demo: the demo organisations, contracts, people and commitment history.

Idempotent: it applies the demo contract files (which change nothing the second time), makes sure
the demo users exist with their memberships, and records commitment history only once.
"""

import hashlib
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction

from contracts.contract_file import contract_file_parse
from contracts.models import Contract, Membership, Organisation
from contracts.services.agreement import matrix_refusals
from contracts.services.commitments import contract_today, evidence_add, occurrence_complete
from contracts.services.contract_apply import contract_apply
from contracts.services.matrix import matrix_approve

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo"
TICKETS_DIR = Path(__file__).resolve().parents[3] / "kpis" / "demo"
DEMO_PASSWORD = "demo-pass-2025"  # noqa: S105 - documented in the README, demo data only


def _demo_document(path: Path) -> dict:
    """A demo contract file as the demo applies it: Acme's (the spec's example, kept equal to
    it) with its commitments measured from the MSP's tool reports (evidence/demo.py)."""
    from evidence.demo import demo_contract_document  # evidence builds on contracts

    return demo_contract_document(yaml.safe_load(path.read_text(encoding="utf-8")))


# (email, first name, last name, organisation slug, role)
DEMO_USERS = [
    ("owner@acme.example", "Olivia", "Owens", "acme-dental", Membership.Role.ADMIN),
    ("viewer@acme.example", "Victor", "Vance", "acme-dental", Membership.Role.READ_ONLY),
    ("owner@birchcole.example", "Beatrice", "Cole", "birch-cole-law", Membership.Role.ADMIN),
    ("staff@northwind.example", "Sam", "Staples", "northwind-it", Membership.Role.MEMBER),
    ("advisor@clearview.example", "Ada", "Clark", "clearview-advisory", Membership.Role.MEMBER),
]


class Command(BaseCommand):
    help = "Load the demo organisations, contracts, SLA, matrix, commitments and users."

    def handle(self, *args, **options):
        with transaction.atomic():
            for path in sorted(DEMO_DIR.glob("*.yaml")):
                data = contract_file_parse(yaml.safe_dump(_demo_document(path)), filename=path.name)
                result = contract_apply(data=data, source="command")
                state = f"{len(result.changes)} change(s)" if result.changes else "unchanged"
                self.stdout.write(f"  {path.name}: {state}")
            users = self._users()
            self._history(users)
        self._tickets(users["staff@northwind.example"])
        self._proposal(users["staff@northwind.example"])
        self._accountability(users)
        self._scorecard(users)
        self._tool_reports(users["staff@northwind.example"])
        self.stdout.write(self.style.SUCCESS("Demo data ready."))

    def _tool_reports(self, staff) -> None:
        """The MSP's tool reports behind Acme's measured commitments (evidence/demo.py)."""
        from evidence.demo import demo_reports_ensure
        from kpis.metrics.recompute import kpis_recompute

        done = demo_reports_ensure(staff)
        for line in done:
            self.stdout.write(f"  acme-dental: {line}")
        if done:
            # The measured commitments count in the figures now, not when a worker gets to it.
            kpis_recompute(Contract.objects.get(client__slug="acme-dental").client)

    def _scorecard(self, users: dict) -> None:
        """Acme's provider scorecard: Northwind beside one invented newcomer (scorecard/demo.py)."""
        from scorecard.demo import demo_scorecard_ensure

        demo_scorecard_ensure(users["advisor@clearview.example"])

    def _proposal(self, staff) -> None:
        """A change of Acme's SLA the MSP proposed from next month, waiting for the client's
        approval: the page of rule changes has something to show. Once only."""
        from contracts.models import SlaPolicyVersion

        contract = Contract.objects.get(client__slug="acme-dental")
        if SlaPolicyVersion.objects.filter(contract=contract).count() > 1:
            return
        today = contract_today(contract)
        document = _demo_document(DEMO_DIR / "acme-dental.yaml")
        document["sla"]["effective_from"] = (today.replace(day=28) + timedelta(days=4)).replace(
            day=1
        )
        document["sla"]["targets"]["P2"]["resolution_minutes"] = 360
        with transaction.atomic():
            proposal = contract_apply(
                data=contract_file_parse(yaml.safe_dump(document)),
                actor=staff,
                source="command",
                agreed=False,
                reason="Northwind proposes to fix high-priority issues within 6 business hours.",
            )
        for line in proposal.changes:
            self.stdout.write(f"  acme-dental: {line}")

    def _accountability(self, users: dict) -> None:
        """What the MSP's own report said for Acme's default quarter, beside what was measured,
        and two disputes of its verdicts: one the MSP accepted (the agreed figures move), one
        waiting for its answer. Once only."""
        from disputes.models import Dispute
        from disputes.services import dispute_answer, dispute_open
        from kpis.dashboard.periods import default_periods
        from kpis.metrics.period import Period
        from kpis.metrics.recompute import kpis_recompute
        from kpis.models import KpiSnapshot, Ticket
        from reconciliation.models import MspReport
        from reconciliation.reports import msp_report_save

        contract = Contract.objects.select_related("client").get(client__slug="acme-dental")
        if MspReport.objects.filter(contract=contract).exists():
            return
        quarter = default_periods({contract.client_id: contract})[contract.client_id]
        snapshot = KpiSnapshot.objects.filter(client=contract.client, period_label=quarter).first()
        if snapshot is None:
            return
        staff, owner = users["staff@northwind.example"], users["owner@acme.example"]
        measured = snapshot.values
        # An MSP's report rounds in its own favour: every SLA met but a few, its own count.
        msp_report_save(
            contract=contract,
            period_label=quarter,
            figures={
                "resolution.compliance": 0.97,
                "response.compliance": 0.99,
                "tickets.created": measured.get("tickets.created"),
            },
            note="Northwind's quarterly service report, page 2.",
            actor=staff,
            source="command",
        )

        period = Period.parse(quarter, contract.timezone)
        zone = ZoneInfo(contract.timezone)

        def latest_breached(priority: str):
            """The quarter's newest ticket of this priority resolved late: its month moves."""
            return (
                Ticket.objects.filter(
                    client=contract.client,
                    clock__resolution_verdict="breached",
                    priority=priority,
                    resolved_at__isnull=False,
                    created_at__gte=datetime.combine(period.first_day, time.min, tzinfo=zone),
                    resolved_at__lt=datetime.combine(period.next_first_day, time.min, tzinfo=zone),
                )
                .order_by("-created_at")
                .first()
            )

        contested = [
            (
                latest_breached("P3"),
                "verdict",
                {"clock": "resolution", "verdict": "met"},
                "The user confirmed the fix the same afternoon; the ticket was closed a day later.",
            ),
            (
                latest_breached("P2"),
                "priority",
                {"priority": "P3"},
                "This was logged as high priority but was a routine request; judge it as P3.",
            ),
        ]
        for n, (ticket, subject, requested, reason) in enumerate(contested):
            if ticket is None:
                continue
            dispute = dispute_open(
                contract=contract,
                actor=owner,
                subject=subject,
                requested=requested,
                reason=reason,
                ticket=ticket,
                source="command",
            )
            if n == 0:
                dispute_answer(
                    dispute=dispute,
                    actor=staff,
                    accept=True,
                    reason="Our notes agree: resolved on the day.",
                    source="command",
                )
        kpis_recompute(contract.client)
        self.stdout.write(
            f"  acme-dental: the MSP's report for {quarter}, "
            f"{Dispute.objects.filter(contract=contract).count()} dispute(s)"
        )

    def _tickets(self, staff) -> None:
        """A year of tickets per demo client, through the importer, once per file."""
        from kpis.imports.services import import_file_sync
        from kpis.models import ImportJob

        for path in sorted(TICKETS_DIR.glob("*.csv")):
            slug = path.stem.rsplit("-", 1)[0]
            contract = Contract.objects.select_related("client", "msp").get(client__slug=slug)
            content = path.read_bytes()
            if ImportJob.objects.filter(
                client=contract.client,
                via=ImportJob.Via.SEED,
                status=ImportJob.Status.DONE,
                sha256=hashlib.sha256(content).hexdigest(),
            ).exists():
                self.stdout.write(f"  {path.name}: already imported")
                continue
            job = import_file_sync(
                msp=contract.msp,
                client=contract.client,
                user=staff,
                via=ImportJob.Via.SEED,
                name=path.name,
                content=content,
            )
            self.stdout.write(
                f"  {path.name}: {job.status}, created={job.created} updated={job.updated} "
                f"unchanged={job.unchanged} rejected={job.rejected}"
            )
        from kpis.metrics.recompute import kpis_recompute
        from kpis.models import KpiSnapshot

        for contract in Contract.objects.select_related("client"):
            if not KpiSnapshot.objects.filter(client=contract.client).exists():
                periods = kpis_recompute(contract.client)
                self.stdout.write(f"  KPIs of {contract.client.name}: {periods} periods")

    def _users(self) -> dict:
        User = get_user_model()
        users = {}
        for email, first, last, slug, role in DEMO_USERS:
            user, created = User.objects.get_or_create(
                email=email, defaults={"first_name": first, "last_name": last}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            Membership.objects.update_or_create(
                user=user,
                organisation=Organisation.objects.get(slug=slug),
                defaults={"role": role},
            )
            users[email] = user
        admin, created = User.objects.get_or_create(
            email="admin@portal.example",
            defaults={
                "first_name": "Portal",
                "last_name": "Admin",
                "is_staff": True,
                "is_superuser": True,
            },
        )
        if created:
            admin.set_password(DEMO_PASSWORD)
            admin.save()
        return users

    def _matrix_approvals(self, contract: Contract, users: dict) -> None:
        """The MSP approved its clients' matrices and Birch & Cole approved its own; Acme's
        has gaps on purpose, so nobody may approve it until they are filled."""
        matrix = contract.current_matrix()
        if matrix is None or matrix_refusals(matrix):
            return
        if matrix.msp_approved_at is None:
            matrix_approve(
                version=matrix, side="msp", actor=users["staff@northwind.example"], source="command"
            )
        if contract.client.slug == "birch-cole-law" and matrix.client_approved_at is None:
            matrix_approve(
                version=matrix,
                side="client",
                actor=users["owner@birchcole.example"],
                source="command",
            )

    def _history(self, users: dict) -> None:
        """A believable past: the MSP approved Acme's matrix, most commitments were kept."""
        staff = users["staff@northwind.example"]
        for contract in Contract.objects.filter(client__slug__in=["acme-dental", "birch-cole-law"]):
            self._matrix_approvals(contract, users)
            today = contract_today(contract)
            for commitment in contract.commitments.all():
                if commitment.measured_by:
                    continue  # kept or missed by its reports (evidence/demo.py), not by hand
                for index, occ in enumerate(commitment.occurrences.filter(due_date__lt=today)):
                    if occ.completed_on is not None or occ.note == "missed (demo)":
                        continue
                    if index % 5 == 3:  # every fifth period was missed: the demo shows overdue
                        occ.note = "missed (demo)"
                        occ.save(update_fields=["note"])
                        continue
                    late = index % 7 == 5
                    done = (
                        occ.due_date + timedelta(days=4)
                        if late
                        else occ.due_date - timedelta(days=3)
                    )
                    occurrence_complete(
                        occurrence=occ,
                        actor=staff,
                        source="command",
                        completed_on=min(done, today),
                        note=f"{commitment.name}: done.",
                    )
                    # Recorded when it was done, as a real history would be: the client's window
                    # to confirm it ran from then (COMMITMENT_ANSWER_DAYS).
                    type(occ).objects.filter(pk=occ.pk).update(
                        recorded_at=datetime.combine(min(done, today), time(17), tzinfo=UTC)
                    )
                    if commitment.evidence_required:
                        report = (
                            f"{commitment.name}\nPeriod ending {occ.due_date}\n"
                            "Result: completed successfully.\n"
                        ).encode()
                        evidence_add(
                            occurrence=occ,
                            actor=staff,
                            source="command",
                            upload=SimpleUploadedFile(
                                f"{commitment.name.lower().replace(' ', '-')}-{occ.due_date}.txt",
                                report,
                                content_type="text/plain",
                            ),
                        )
