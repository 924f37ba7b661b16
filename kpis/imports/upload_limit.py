"""The upload limit (IMPORT_MAX_BYTES), enforced while a request's body arrives, for every form
and API upload alike: the body is streamed to a temporary file on disk, never held in memory,
and a request over the limit is answered 413 with the limit in words before the view runs.

A body declared larger than the limit (Content-Length) is refused without reading it; one that
turns out larger while it streams (chunked, or a part bigger than declared) is refused at the
chunk that crosses the limit. The parse happens here, before CSRF and the views read the form,
so the handler that counts is the one every upload goes through. API requests are parsed by
Django REST framework, with the same handler, and its 413 is the exception's."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from rest_framework.exceptions import APIException

FORM_SLACK = 1024**2  # the other fields and the multipart boundaries around the file


class UploadTooLarge(APIException):
    """Raised while the body streams in: answered 413 by this middleware for pages, and by
    Django REST framework (an APIException) for the API, which parses its own requests."""

    status_code = 413
    default_code = "too_large"

    def __init__(self, field: str = "file"):
        self.field = field or "file"
        super().__init__(too_large_message(self.field))


def too_large_message(field: str = "file") -> str:
    limit = settings.IMPORT_MAX_BYTES
    exact = f" ({limit:,} bytes)" if limit >= 1024**2 else ""
    return (
        f"{field}: the upload is larger than the limit of {_size(limit)}{exact}; "
        f"split the export or compress it as .gz or .zip."
    )


def _size(count: int) -> str:
    if count >= 1024**3 and count % 1024**3 == 0:
        return f"{count // 1024**3} GB"
    if count >= 1024**2:
        return f"{count / 1024**2:g} MB"
    return f"{count:,} bytes"


class LimitedUploadHandler(TemporaryFileUploadHandler):
    """Every uploaded file to a temporary file on disk, refused once it passes the limit."""

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > settings.IMPORT_MAX_BYTES:
            self.file.close()  # the temporary file is removed with it
            raise UploadTooLarge(self.field_name)
        return super().receive_data_chunk(raw_data, start)


def _declared_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class UploadLimitMiddleware:
    """Parses multipart bodies with LimitedUploadHandler; answers 413 when over the limit."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in ("POST", "PUT", "PATCH") and request.content_type.startswith(
            "multipart/"
        ):
            if _declared_length(request) > settings.IMPORT_MAX_BYTES + FORM_SLACK:
                return _too_large(request, "file")
            request.upload_handlers = _handlers(request)
            if not _is_api(request):  # the API parses (with this handler) in its own time
                try:
                    request.POST  # noqa: B018 - parse now, with the handler above
                except UploadTooLarge as error:
                    return _too_large(request, error.field)
        return self.get_response(request)


def _handlers(request) -> list:
    """A small body whose declared length is within the limit stays in memory as Django keeps
    it (its parts cannot outgrow the length it declared); anything else streams to disk."""
    limited = LimitedUploadHandler(request)
    declared = _declared_length(request)
    if 0 < declared <= min(settings.IMPORT_MAX_BYTES, settings.FILE_UPLOAD_MAX_MEMORY_SIZE):
        return [MemoryFileUploadHandler(request), limited]
    return [limited]


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def _too_large(request, field: str):
    message = too_large_message(field)
    if _is_api(request):
        return JsonResponse({"detail": message}, status=413)
    html = render_to_string("kpis/upload_too_large.html", {"message": message}, request)
    return HttpResponse(html, status=413)
