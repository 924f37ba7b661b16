"""`import_tickets --dry-run` writes nothing and prints the preset it guessed, the mapping it
would use (a mapping file, docs/mapping-file.md) and every value of the mapped value columns in
the whole file with its count; `--help` points at the mapping file's page."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.management import CommandError, call_command

from kpis.management.commands.import_tickets import Command
from kpis.models import ImportJob, ImportProblem, RecomputeRequest, Ticket


def _export(tmp_path):
    """300 rows of a layout the generic preset reads; `Whenever` and `Sev Z` only after the
    preview's first 200 rows."""
    lines = ["Ticket,Opened,Priority,Status"]
    for n in range(1, 301):
        priority = "High" if n <= 250 else ("Whenever" if n <= 297 else "Sev Z")
        lines.append(f"T-{n},2025-07-01 10:00,{priority},{'Open' if n % 2 else 'Parked'}")
    path = tmp_path / "odd.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _dry_run(path, client, *extra) -> str:
    out = io.StringIO()
    call_command("import_tickets", str(path), "--client", client, "--dry-run", *extra, stdout=out)
    return out.getvalue()


def _written() -> tuple[int, ...]:
    return tuple(
        model.objects.count() for model in (ImportJob, ImportProblem, Ticket, RecomputeRequest)
    )


def test_a_dry_run_prints_the_guess_the_mapping_and_the_whole_files_values_and_writes_nothing(
    world, tmp_path
):
    before = _written()
    text = _dry_run(_export(tmp_path), world.acme.slug)
    assert _written() == before
    assert text.startswith("preset guessed from the header: generic (Generic spreadsheet)\n")
    printed = text.split("docs/mapping-file.md):\n", 1)[1].split("\nvalues of the mapped", 1)[0]
    mapping = json.loads(printed)
    assert mapping["preset"] == "generic"
    assert mapping["columns"] == {
        "external_id": "Ticket",
        "created_at": "Opened",
        "priority": "Priority",
        "status": "Status",
    }
    assert "in all 300 rows of the file:" in text
    assert (
        "priority (column 'Priority'):\n  'High' ×250 → P2\n  'Whenever' ×47 → unmapped\n" in text
    )
    assert "  'Sev Z' ×3 → unmapped\n  unmapped: 2 values on 50 rows: 'Whenever', 'Sev Z'\n" in text
    assert "status (column 'Status'):\n  'Open' ×150 → open\n  'Parked' ×150 → unmapped\n" in text
    assert text.endswith("dry run: nothing was written\n")


def test_a_dry_run_with_a_mapping_file_shows_its_values_mapped(world, tmp_path):
    mapping_file = tmp_path / "odd.json"
    mapping_file.write_text(
        json.dumps(
            {
                "preset": "generic",
                "columns": {
                    "external_id": "Ticket",
                    "created_at": "Opened",
                    "priority": "Priority",
                },
                "values": {"priority": {"whenever": "P4", "sev z": ""}},
            }
        )
    )
    text = _dry_run(_export(tmp_path), world.acme.slug, "--mapping", str(mapping_file))
    assert "  'Whenever' ×47 → P4\n  'Sev Z' ×3 → unmapped\n" in text
    assert "unmapped: 1 values on 3 rows: 'Sev Z'" in text
    assert "status (column" not in text


def test_a_dry_run_with_a_wrong_mapping_names_the_path_and_what_is_valid(world, tmp_path):
    mapping_file = tmp_path / "bad.json"
    mapping_file.write_text(json.dumps({"preset": "generic", "columns": {"prioirty": "Priority"}}))
    before = _written()
    with pytest.raises(CommandError, match=r"^mapping\.columns\.prioirty: unknown field; valid: "):
        _dry_run(_export(tmp_path), world.acme.slug, "--mapping", str(mapping_file))
    assert _written() == before


def test_the_help_points_at_the_mapping_files_page():
    text = " ".join(Command().create_parser("manage.py", "import_tickets").format_help().split())
    assert "docs/mapping-file.md" in text
    assert re.search(r"--dry-run\s+write nothing", text)
