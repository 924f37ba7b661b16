"""python manage.py apply_contract FILE: create or update a contract from a YAML or JSON file."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from contracts.contract_file import ContractFileError, contract_file_parse
from contracts.services.contract_apply import contract_apply


class Command(BaseCommand):
    help = (
        "Create or update the organisations, contract, calendars, SLA policy version, "
        "responsibility matrix and commitments named in a contract file (YAML or JSON). "
        "Idempotent: applying the same file again changes nothing. The file is the signed "
        "contract: a new SLA version is recorded as agreed by both sides (--propose: a proposal "
        "both sides approve in the app instead); a new matrix version is always a proposal. "
        "A version that would change verdicts already given is refused unless --correction."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--as",
            dest="actor",
            metavar="EMAIL",
            help="record the changes in the audit trail as this user",
        )
        parser.add_argument(
            "--propose",
            action="store_true",
            help="a new SLA version is a proposal both sides approve in the app",
        )
        parser.add_argument(
            "--correction",
            metavar="REASON",
            default="",
            help="the file corrects an error in agreed terms: new versions may change verdicts "
            "already given; the reason is recorded and the results it changes are listed",
        )

    def handle(self, *args, file: Path, actor=None, propose=False, correction="", **options):
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{file}: cannot read the file ({exc})") from None
        user = None
        if actor:
            user = get_user_model().objects.filter(email__iexact=actor).first()
            if user is None:
                raise CommandError(f"--as {actor}: no such user")
        try:
            data = contract_file_parse(text, filename=file.name)
            result = contract_apply(
                data=data,
                actor=user,
                source="command",
                agreed=not propose,
                correction=correction,
                matrix_correction=correction,
            )
        except ContractFileError as exc:
            lines = "\n".join(f"  {p}" for p in exc.problems)
            raise CommandError(f"{file}: not applied, nothing was written:\n{lines}") from None
        if not result.changes:
            self.stdout.write(f"No changes: '{result.contract.name}' already matches {file.name}.")
            return
        for line in result.changes:
            self.stdout.write(f"  {line}")
        self.stdout.write(
            self.style.SUCCESS(f"Applied {file.name}: {len(result.changes)} change(s).")
        )
