"""Files that are plainly not a table, known by their first bytes: a PDF or an image renamed
.csv is named for what it is, where the CSV reader would only find binary data in it, or read
a text-only PDF as a table of one odd column. Pure."""

from __future__ import annotations

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"{\\rtf", "a rich-text document"),
)


def document_kind(data: bytes) -> str | None:
    """What the file is, in words, when its first bytes say it is no table; else None."""
    for magic, kind in _SIGNATURES:
        if data.startswith(magic):
            # "BM" also begins a CSV whose first column is named BM…: a bitmap's header says
            # its own size next, a header row of text does not hold the bytes that do.
            if magic == b"BM" and (len(data) < 14 or data[6:10] != b"\x00\x00\x00\x00"):
                continue
            return kind
    if data[:12].startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "a WebP image"
    start = data[:512].lstrip().lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return "a web page"
    return None
