"""Stored files served back to the people who may read them."""

from __future__ import annotations

from django.http import FileResponse


def stored_file_download(
    file, filename: str, content_type: str = "application/octet-stream"
) -> FileResponse:
    """A stored file (an upload, a generated PDF) as an attachment with its checked type: a
    browser saves it and never renders it in the portal's origin."""
    return FileResponse(
        file.open("rb"), as_attachment=True, filename=filename, content_type=content_type
    )
