"""API plumbing shared by every app: filters by plain id, and the error answers in the schema."""

from __future__ import annotations

from django import forms
from django.http import JsonResponse
from django.views.defaults import page_not_found
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.pagination import LimitOffsetPagination


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(filters.NumberFilter):
    """A related object by its id, as a whole number (the value is not looked up first)."""

    field_class = forms.IntegerField


class IdFilterSet(filters.FilterSet):
    """Foreign keys filter by plain id. django-filter's default looks the id up among all rows and
    answers 400 for one that does not exist but 200 for another tenant's: that told an outsider
    which ids exist. Now both simply match nothing among what the caller may see."""

    @classmethod
    def filter_for_lookup(cls, field, lookup_type):
        if field.is_relation and lookup_type == "exact":
            return IdFilter, {}
        return super().filter_for_lookup(field, lookup_type)


class FilterBackend(filters.DjangoFilterBackend):
    """django-filter's backend, building `filterset_fields` on IdFilterSet."""

    filterset_base = IdFilterSet


class Pagination(LimitOffsetPagination):
    """limit/offset pages of at most 1000 rows: a larger `limit` is read as 1000 (without a
    ceiling, a limit past PostgreSQL's bigint was a server error)."""

    max_limit = 1000


def not_found(request, exception):
    """The 404 handler: an unknown URL under /api/ (an id that is not a number, say) answers JSON
    like every other API error; pages keep Django's HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


_ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
_INVALID = {
    "type": "object",
    "description": "What was wrong, by field name: a list of messages (nested for nested data).",
    "additionalProperties": {},
}
_PAGINATION = {"limit", "offset"}


def _error(description: str, schema: str) -> dict:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {"description": description, "content": {"application/json": {"schema": ref}}}


def _text_without_nul(parameter: dict) -> None:
    """Django refuses a NUL character in any text it is given to look up (400, "Null characters
    are not allowed"); say so in the schema, so that such a value counts as invalid input."""
    schema = parameter.get("schema", {})
    plain_text = schema.get("type") == "string" and not {"enum", "format", "pattern"} & set(schema)
    if parameter["in"] == "query" and plain_text:
        schema["pattern"] = "^[^\\x00]*$"


def error_responses_add(result, generator, request, public):
    """drf-spectacular post-processing hook: document the answers every operation can give
    besides success (no or a bad token, a role that may not, an id that is not the caller's, too
    many requests, and invalid input where the operation takes any), so a client, and
    schemathesis, can rely on the schema for them too."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = _ERROR
    schemas["ValidationError"] = _INVALID
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            parameters = operation.get("parameters", [])
            for parameter in parameters:
                _text_without_nul(parameter)
            errors = {
                "401": _error("Not authenticated: no token or session, or a bad token", "Error"),
                "403": _error(
                    "Not allowed: the caller's role, or multi-factor enrolment missing", "Error"
                ),
                "429": _error("Too many requests: see the Retry-After header", "Error"),
            }
            if any(p["in"] == "path" for p in parameters):
                errors["404"] = _error("No such object among those the caller may see", "Error")
            takes_input = "requestBody" in operation or any(
                p["in"] == "query" and p["name"] not in _PAGINATION for p in parameters
            )
            if takes_input:
                errors["400"] = _error("Invalid input", "ValidationError")
            if "requestBody" in operation:
                errors["415"] = _error("A request body in a media type not listed here", "Error")
            if "multipart/form-data" in operation.get("requestBody", {}).get("content", {}):
                errors["413"] = _error("An upload over the limit (IMPORT_MAX_BYTES)", "Error")
            responses = errors | operation.get("responses", {})
            operation["responses"] = dict(sorted(responses.items()))
    return result
