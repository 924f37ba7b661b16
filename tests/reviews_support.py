"""What the review tests share: a draft of a quarter, the PDF tools they need, a QBR PDF's text
as a reader sees it, a tiny PNG."""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest
from django.core.management import call_command

from reviews import services

from .browser import CHROMIUM

POPPLER = shutil.which("pdftotext") and shutil.which("pdftoppm")

needs_pdf_tools = pytest.mark.skipif(
    CHROMIUM is None or not POPPLER, reason="needs Debian's chromium and poppler-utils"
)


def draft(world, quarter="2025-Q3"):
    review, _ = services.review_draft_ensure(
        contract=world.acme_contract, quarter=quarter, actor=world.advisor
    )
    return review


def qbr_pdf_text(slug: str, quarter: str, folder) -> str:
    """The text of `generate_qbr`'s PDF (pdftotext), its whitespace folded to single spaces."""
    output = folder / "qbr.pdf"
    call_command(
        "generate_qbr",
        "--client",
        slug,
        "--quarter",
        quarter,
        "--output",
        str(output),
        stdout=io.StringIO(),
    )
    text = subprocess.run(
        ["pdftotext", str(output), "-"], capture_output=True, text=True, check=True
    ).stdout
    return " ".join(text.split())


PNG_1PX = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
    b"\x00\x00\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00"
    b"\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
