"""Timestamps as exports write them (ISO, month-day or day-month orders, month names, Excel
serial days, offsets) read into naive UTC, column-wise with polars. Pure."""

from __future__ import annotations

from typing import Literal

import polars as pl

# Which reading of a wall time that occurs twice (when the clocks go back).
Ambiguous = Literal["earliest", "latest"]

_AWARE = r"(Z|[+-]\d\d:?\d\d)$"

_ISO_FORMATS = [
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
]

_ORDERED_FORMATS = {
    "mdy": [
        "%m/%d/%Y %I:%M:%S %p",
        "%m/%d/%Y %I:%M %p",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %H:%M",
        "%m/%d/%y %I:%M %p",
        "%m/%d/%y %H:%M",
        "%m-%d-%Y %H:%M",
        "%m/%d/%Y",
        "%m/%d/%y",
    ],
    "dmy": [
        "%d/%m/%Y %I:%M:%S %p",
        "%d/%m/%Y %I:%M %p",
        "%d/%m/%Y %H:%M:%S",
        "%d/%m/%Y %H:%M",
        "%d/%m/%y %H:%M",
        "%d.%m.%Y %H:%M:%S",
        "%d.%m.%Y %H:%M",
        "%d-%m-%Y %H:%M",
        "%d/%m/%Y",
        "%d.%m.%Y",
        "%d/%m/%y",
    ],
}

# Month names decide the order by themselves (Jira: 08/Jul/25 04:05 PM).
_NAMED_MONTH_FORMATS = [
    "%d/%b/%y %I:%M %p",
    "%d/%b/%Y %I:%M %p",
    "%d/%b/%y %H:%M",
    "%d-%b-%Y %H:%M",
    "%d %b %Y %H:%M",
    "%b %d, %Y %I:%M %p",
    "%Y-%m-%d",
]

FORMAT_EXAMPLE = {
    "mdy": "07/08/2025 04:05 PM",
    "dmy": "08/07/2025 16:05",
    "ymd": "2025-07-08 16:05:00",
}

_EXCEL_EPOCH_DAYS = 25569  # days from Excel's 1899-12-30 epoch to 1970-01-01


class AmbiguousDates(ValueError):
    """Dates like 03/04/2025 could be either order and nothing in the file decides it."""


def date_order_detect(columns: list[pl.Series]) -> str | None:
    """mdy or dmy when a component above 12 decides it; ymd for ISO dates; None if undecided."""
    first_above, second_above, iso = False, False, False
    for series in columns:
        # The date part of each distinct value: a few hundred days, not a million rows.
        series = series.drop_nulls().str.slice(0, 10).unique()
        parts = series.str.extract_groups(r"^(\d{1,2})[/.-](\d{1,2})[/.-]\d{2,4}")
        a = parts.struct.field("1").cast(pl.Int32, strict=False)
        b = parts.struct.field("2").cast(pl.Int32, strict=False)
        first_above |= bool((a > 12).any())
        second_above |= bool((b > 12).any())
        iso |= bool(series.drop_nulls().str.contains(r"^\d{4}-\d\d-\d\d").any())
    if first_above and not second_above:
        return "dmy"
    if second_above and not first_above:
        return "mdy"
    if iso and not (first_above or second_above):
        return "ymd"
    return None


def _parse_formats(text: pl.Series, formats: list[str]) -> pl.Series:
    """Parse with the first format that reads each value. Formats are ranked on a sample, and
    each later format only sees the values the earlier ones could not read: a clean column costs
    one pass, not one pass per candidate format."""
    sample = text.drop_nulls().head(500)
    hits = {
        f: sample.str.to_datetime(f, strict=False, time_unit="us").is_not_null().sum()
        for f in formats
    }
    ranked = sorted(formats, key=lambda f: -hits[f])

    def parse(values: pl.Series, fmt: str) -> pl.Series:
        parsed = values.str.to_datetime(fmt, strict=False, time_unit="us")
        if getattr(parsed.dtype, "time_zone", None):  # %z formats: offsets become UTC
            parsed = parsed.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return parsed

    # The best format over the whole column at once; the others only on what it left.
    result = parse(text, ranked[0])
    todo = pl.Series("i", range(len(text)), dtype=pl.UInt32).filter(
        text.is_not_null() & result.is_null()
    )
    for fmt in ranked[1:]:
        if todo.is_empty():
            break
        parsed = parse(text.gather(todo), fmt)
        read = parsed.is_not_null()
        if read.any():
            result = result.scatter(todo.filter(read), parsed.filter(read))
            todo = todo.filter(~read)
    return result


def timestamps_parse(
    series: pl.Series, *, order: str, zone: str, ambiguous: Ambiguous = "earliest"
) -> pl.Series:
    """Strings → naive UTC datetimes (null where unreadable). Offsets are honoured; naive
    values are read in `zone` (a wall time repeated when clocks go back is read as the
    `ambiguous` one, earliest or latest); Excel serial day numbers are understood."""
    return timestamps_reader(series, order=order, zone=zone)(ambiguous)


def timestamps_reader(series: pl.Series, *, order: str, zone: str):
    """Parse once; return a function giving the UTC values for either reading of an ambiguous
    wall time (the string parsing is the expensive part, the zone conversion is cheap)."""
    text = series.str.replace(r"Z$", "+00:00")
    aware_mask = text.str.contains(_AWARE).fill_null(False)
    any_aware = bool(aware_mask.any())
    naive_text = pl.select(pl.when(~aware_mask).then(text)).to_series() if any_aware else text
    formats = [*_ISO_FORMATS, *_ORDERED_FORMATS.get(order, []), *_NAMED_MONTH_FORMATS]
    naive = _parse_formats(naive_text, formats)
    if naive.null_count() > naive_text.null_count():
        serial = naive_text.cast(pl.Float64, strict=False)
        serial = pl.select(
            pl.when((serial > 20000) & (serial < 80000)).then(serial).otherwise(None)
        ).to_series()
        from_serial = (
            ((serial - _EXCEL_EPOCH_DAYS) * 86_400_000_000).cast(pl.Int64).cast(pl.Datetime("us"))
        )
        naive = naive.fill_null(from_serial)
    aware = None
    if any_aware:
        aware_text = pl.select(pl.when(aware_mask).then(text)).to_series()
        aware = _parse_formats(aware_text, ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%:z"])

    def in_utc(ambiguous: Ambiguous) -> pl.Series:
        local = naive.dt.replace_time_zone(zone, ambiguous=ambiguous, non_existent="null")
        utc = local.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        if aware is not None:
            utc = pl.select(pl.when(aware_mask).then(aware).otherwise(utc)).to_series()
        return utc.rename(series.name)

    return in_utc
