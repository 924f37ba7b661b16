"""scorecard_pdf --client SLUG --output FILE: the client's provider comparison as a PDF, every
candidate shown (the command is the portal's staff, not a party)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from contracts.models import Organisation
from scorecard.comparison import comparison_build
from scorecard.models import Assessment
from scorecard.pdf import comparison_pdf_render


class Command(BaseCommand):
    help = "Write a client's provider scorecard comparison as a PDF."

    def add_arguments(self, parser):
        parser.add_argument("--client", required=True, help="the client's slug")
        parser.add_argument("--output", required=True, help="the PDF file to write")

    def handle(self, *args, **options):
        slug = options["client"]
        if not Organisation.objects.filter(slug=slug, kind=Organisation.Kind.CLIENT).exists():
            raise CommandError(f"No client with the slug {slug!r}.")
        assessment = Assessment.objects.filter(client__slug=slug).first()
        if assessment is None:
            raise CommandError(
                f"No provider scorecard has been started for {slug!r}: open its scorecard page "
                "(or run seed_demo for the demo client) first."
            )
        output = Path(options["output"])
        output.write_bytes(comparison_pdf_render(comparison_build(assessment, with_rivals=True)))
        self.stdout.write(f"Wrote {output} ({output.stat().st_size:,} bytes).")
