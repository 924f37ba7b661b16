"""A digest of every row that belongs to one tenant, read in one query, to show that a refused
write changed nothing of it (not only that it was answered 403 or 404).

A tenant here is a contract's client, MSP and advisory firm. A row belongs to it when any chain
of foreign keys (people who wrote a row aside) leads from the row to one of those organisations:
the contract, its SLA versions, calendars and targets, matrix, commitments, evidence, audit
trail, tickets, clocks, KPI snapshots, imports and their problems, saved mappings, outages,
reviews, comments, action items and share links; the organisations, their invitations and
memberships, the people in them and those people's API tokens and authenticators. A model added
to these apps later is found the same way, so it is digested without an edit here.
"""

from __future__ import annotations

from functools import cache

from django.apps import apps
from django.db import connection, models

from contracts.models import Organisation

TENANT_APPS = (
    "accounts",
    "contracts",
    "kpis",
    "reviews",
    "reconciliation",
    "disputes",
    "scorecard",
    "evidence",
)
MAX_DEPTH = 4


def _paths_to_organisation(model, depth: int = 0, seen=()) -> list[str]:
    """Lookups from `model` to an Organisation through forward foreign keys, skipping the
    user model (who wrote a row says nothing of whose it is)."""
    if depth >= MAX_DEPTH:
        return []
    user_model = apps.get_model("accounts", "User")
    paths = []
    for field in model._meta.get_fields():
        if not (field.is_relation and field.concrete and (field.many_to_one or field.one_to_one)):
            continue
        target = field.related_model
        if target is user_model or target in seen:
            continue
        if target is Organisation:
            paths.append(field.name)
        else:
            paths += [
                f"{field.name}__{p}"
                for p in _paths_to_organisation(target, depth + 1, (*seen, model))
            ]
    return paths


@cache
def _model_paths(model) -> tuple[str, ...]:
    return tuple(_paths_to_organisation(model))


def _owned(model, orgs: list[int]):
    """The model's rows belonging to these organisations, or None when none can."""
    if model is Organisation:
        return model.objects.filter(pk__in=orgs)
    paths = _model_paths(model)
    if not paths:
        return None
    condition = models.Q()
    for path in paths:
        condition |= models.Q(**{f"{path}__in": orgs})
    return model.objects.filter(condition)


def _people_rows(orgs: list[int]):
    """The people in these organisations, and their tokens and second factors."""
    from allauth.mfa.models import Authenticator
    from rest_framework.authtoken.models import Token

    user_model = apps.get_model("accounts", "User")
    people = user_model.objects.filter(memberships__organisation__in=orgs).values("pk")
    return [
        user_model.objects.filter(pk__in=people),
        Token.objects.filter(user__in=people),
        Authenticator.objects.filter(user__in=people),
    ]


def tenant_querysets(contract) -> dict[str, models.QuerySet]:
    orgs = [o for o in (contract.client_id, contract.msp_id, contract.advisor_id) if o]
    found = {}
    for app in TENANT_APPS:
        for model in apps.get_app_config(app).get_models():
            rows = _owned(model, orgs)
            if rows is not None:
                found[model._meta.db_table] = rows
    for rows in _people_rows(orgs):
        found[rows.model._meta.db_table] = rows
    return found


def tenant_digest(contract) -> dict[str, str]:
    """{table: md5 of its rows belonging to the contract's tenant}, in one query."""
    parts, params = [], []
    tables = tenant_querysets(contract)
    for table, rows in tables.items():
        pk = rows.model._meta.pk
        # A composite key (kpis.TicketEvent) compares as a row of its columns.
        fields = list(getattr(pk, "fields", None) or [pk])
        sub, sub_params = rows.values(*[f.attname for f in fields]).query.sql_with_params()
        key = ", ".join(f't."{f.column}"' for f in fields)
        parts.append(  # names from _meta; values are parameters
            f"(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "  # noqa: S608
            f'FROM "{table}" t WHERE ({key}) IN ({sub}))'
        )
        params += sub_params
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}", params)
        return dict(zip(tables, cursor.fetchone(), strict=True))


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(table for table in before if before[table] != after.get(table))
