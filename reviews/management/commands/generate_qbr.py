"""python manage.py generate_qbr --client SLUG --quarter 2025-Q3 --output FILE.pdf"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from contracts.models import Organisation
from contracts.selectors import current_contract
from kpis.models import KpiSnapshot
from reviews.context import NoFigures, review_content
from reviews.generation import content_pdf
from reviews.models import Review
from reviews.pdf import ChartExportError
from reviews.services import review_draft_ensure


class Command(BaseCommand):
    help = (
        "Write a client's quarterly business review as a PDF, synchronously: the newest version "
        "of that quarter's review (published ones as frozen), a new draft when there is none."
    )

    def add_arguments(self, parser):
        parser.add_argument("--client", required=True, help="the client's slug")
        parser.add_argument("--quarter", required=True, help="e.g. 2025-Q3")
        parser.add_argument("--output", required=True, type=Path, help="the PDF file to write")

    def handle(self, *args, **options):
        client = Organisation.objects.filter(slug=options["client"], kind="client").first()
        if client is None:
            raise CommandError(f"--client: no client with the slug '{options['client']}'")
        contract = current_contract(client=client)
        if contract is None:
            raise CommandError(f"--client: {client.name} has no contract")
        quarter = options["quarter"]
        try:
            review = (
                Review.objects.filter(contract=contract, quarter=quarter)
                .order_by("-version")
                .first()
            )
            if review is None:
                if not KpiSnapshot.objects.filter(client=client, period_label=quarter).exists():
                    raise NoFigures(f"No KPIs are stored for {client.name} in {quarter} yet.")
                review, _ = review_draft_ensure(
                    contract=contract, quarter=quarter, source="command"
                )
            content = review_content(review)
            pdf, pages = content_pdf(content, client, contract=review.contract)
        except ValueError as error:
            raise CommandError(f"--quarter: {error}") from None
        except NoFigures as error:
            raise CommandError(str(error)) from None
        except ChartExportError as error:
            raise CommandError(str(error)) from None
        output: Path = options["output"]
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(pdf)
        self.stdout.write(
            f"{output}: {pages} pages, {len(content['charts'])} charts, "
            f"{review.quarter} v{review.version} ({review.get_status_display().lower()})"
        )
