"""A SELECT read into a polars frame with COPY TO: the import's reads of what is stored (the
keys and hashes it compares against, the ids its histories attach to, the tickets an overlap
is looked for in), a few hundred thousand rows in a fraction of a second."""

from __future__ import annotations

import io

import polars as pl


def copy_frame(cursor, select_sql: str, params: list, schema: dict) -> pl.DataFrame:
    """The rows of `select_sql` (its columns in `schema`'s order) as a frame of `schema`; an
    empty frame of it when there are none (polars reads no columns from an empty CSV)."""
    buffer = io.BytesIO()
    query = cursor.mogrify(f"COPY ({select_sql}) TO STDOUT WITH (FORMAT csv)", params)
    cursor.cursor.copy_expert(query.decode(), buffer)
    if buffer.tell() == 0:
        return pl.DataFrame(schema=schema)
    buffer.seek(0)
    return pl.read_csv(buffer, has_header=False, new_columns=list(schema), schema=schema)
