"""Hand-written SQL for the few reads that every page makes, loaded into ordinary model objects.

Django compiles a queryset into SQL each time it is evaluated. On our two-core machines that
costs about 1 ms of CPU per query, which was most of a page's cost once its figures were
cached (benchmarks/RESULTS.md, bench-web 2026-12-02). The reads made on every request are
written once as SQL: the session's user with their memberships, the client with its parties,
the current contract, the dashboard's periods and a period's stamp. `load` builds their rows
into the same objects the ORM would give, through the public Model.from_db. Column lists come
from each model's _meta, so a new field is read without editing the queries.
"""

from __future__ import annotations

import logging
from functools import cache

from django.db import DatabaseError, connection
from django.db.models import Model

log = logging.getLogger(__name__)


@cache
def _fields(model: type[Model]):
    """(attribute names, column names, converters by position) of the model's concrete fields.
    A converter is what the ORM's compiler would apply to the column: JSON text decoded, for
    one."""
    fields = model._meta.concrete_fields
    converters = [
        (i, functions)
        for i, f in enumerate(fields)
        if (functions := f.get_db_converters(connection))
    ]
    return [f.attname for f in fields], [f.column for f in fields], converters


def columns(model: type[Model], alias: str) -> str:
    """The select list of the model's fields from the table aliased `alias`."""
    return ", ".join(f'{alias}."{column}"' for column in _fields(model)[1])


def width(model: type[Model]) -> int:
    """How many columns `columns` selects for the model."""
    return len(_fields(model)[0])


def load(model: type[Model], row, start: int = 0):
    """The model instance whose fields are row[start:start + width(model)]."""
    names, _, converters = _fields(model)
    values = row[start : start + len(names)]
    if converters:
        values = list(values)
        for i, functions in converters:
            for convert in functions:
                values[i] = convert(values[i], None, connection)
    return model.from_db(connection.alias, names, values)


def fetch(sql: str, params: list | tuple) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def analyze_if_stale(tables: list[str]) -> list[str]:
    """ANALYZE each table that changed by more than a tenth since its statistics were taken (and
    by at least 10,000 rows); returns those analysed.

    A million-ticket import leaves the planner guessing from an empty table until autovacuum
    analyses it, and autovacuum may be slow or off. Measured on the benchmark database before
    it had statistics: a ticket-list page's 50 tickets took 5.8 ms through a bitmap AND of two
    indexes; after ANALYZE, 0.9 ms through the primary key alone."""
    if connection.in_atomic_block:
        # Inside a caller's transaction its own writes are not counted yet, and ANALYZE would
        # hold its lock until that transaction ends: the next recompute outside one does it.
        return []
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY(%s) "
                "AND schemaname = current_schema() "
                "AND n_mod_since_analyze > greatest(10000, n_live_tup / 10)",
                [tables],
            )
            stale = sorted(name for (name,) in cursor.fetchall())
            for name in stale:
                cursor.execute(f'ANALYZE "{name}"')  # a name read back from the catalogue
    except DatabaseError as error:
        # Statistics only speed up later reads: the recompute that asked has committed.
        log.warning("ANALYZE of %s skipped: %s", tables, error)
        return []
    return stale
