"""What a page says back after a write."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.contrib import messages
from django.core.exceptions import ValidationError


@contextmanager
def refusals_said(request) -> Iterator[None]:
    """Run a write; a refusal it raises (a ValidationError, in the service's own words) becomes
    an error message on the next page instead of an error page. Anything after the refused
    step inside the block is skipped."""
    try:
        yield
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
