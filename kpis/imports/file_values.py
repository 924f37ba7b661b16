"""The distinct values of an import's mapped value columns in the whole stored file, with their
counts, for the mapping step (docs/imports.md, "How values are read"). The file is read once for
the columns not yet counted; each column's counts are then kept in the cache, keyed by the file's
hash, so a changed choice on the page counts only the column it brings in."""

from __future__ import annotations

import hashlib

from django.core.cache import cache

from kpis.imports.ingest.read import table_read
from kpis.imports.ingest.value_counts import VALUE_COLUMNS, column_counts
from kpis.models import ImportJob

CACHE_SECONDS = 6 * 3600  # a mapping step is done within the day; a miss only costs a re-read
# A smaller file is read again in tens of milliseconds: not worth a cache entry, nor the seconds
# each cache call waits when Redis hangs (RELIABILITY.md, broker_hangs: the mapping page's
# bound).
CACHED_FROM_BYTES = 8 * 1024**2

Counts = tuple[list[tuple[str, int]], int]  # (raw value, rows) listed, rows left off


def _key(job: ImportJob, column: str) -> str:
    digest = hashlib.sha256(column.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"import-values:{job.pk}:{job.sha256}:{digest}"


def file_value_counts(job: ImportJob, columns: dict[str, str]) -> dict[str, Counts]:
    """Field → the counts of its column over the whole file, for the value columns mapped.
    Raises UnusableFile when the whole file cannot be read (the import would refuse it too)."""
    wanted = {f: c for f, c in columns.items() if f in VALUE_COLUMNS}
    keys = {column: _key(job, column) for column in set(wanted.values())}
    # Counted already in this request (a page previews twice): no second trip to the cache,
    # which costs seconds when Redis hangs (RELIABILITY.md, broker_hangs).
    known = job.__dict__.setdefault("_file_value_counts", {})
    asked = [key for key in keys.values() if key not in known]
    found = {key: known[key] for key in keys.values() if key in known}
    cached = job.size >= CACHED_FROM_BYTES
    found |= cache.get_many(asked) if asked and cached else {}
    missing = [column for column, key in keys.items() if key not in found]
    if missing:
        with job.file.open("rb") as handle:
            table = table_read(handle.read(), job.original_name)
        counted = {
            keys[column]: column_counts(table.frame[column])
            if column in table.frame.columns
            else ([], 0)
            for column in missing
        }
        del table
        if cached:
            cache.set_many(counted, timeout=CACHE_SECONDS)
        found |= counted
    known.update(found)
    return {field_name: found[keys[column]] for field_name, column in wanted.items()}
