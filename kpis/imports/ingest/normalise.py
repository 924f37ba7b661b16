"""A table of strings plus a mapping in; normalised tickets and every row problem out.

Column-wise with polars, so a million rows take seconds: values are mapped once per distinct
value, timestamps parsed per format over whole columns. No ORM here. Timestamps come out as naive
UTC. Row numbers are the spreadsheet rows the user sees (header = row 1).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import polars as pl

from .mapping import Mapping
from .pauses import paused_too_long
from .presets import MAPPED_VALUE_FIELDS, TIMESTAMP_FIELDS, VERDICT_FIELDS
from .problems import problems_frame, row_problems
from .timestamps import FORMAT_EXAMPLE, AmbiguousDates, date_order_detect, timestamps_reader

NULL_MARKERS = ["", "?", "n/a", "na", "null", "none", "-", "--", "nil"]

# Ticket times outside these years are typing or export errors (0001-01-01, 9999-12-31): the
# clock would lay out a calendar over millennia for them, and months to recompute by the
# thousand. They are errors on their row.
FIRST_YEAR, LAST_YEAR = 1970, 2099
ID_MAX_LENGTH = 100  # kpis_ticket.external_id: a longer id would be cut and collide
# A title is a line for a page, not a document: a 50 MB cell is cut, with a warning. The other
# text fields are stored in 200 characters (kpis.imports.store).
TITLE_MAX_LENGTH = 10_000
_CUT_AT = {
    "title": TITLE_MAX_LENGTH,
    "category": 200,
    "subcategory": 200,
    "configuration_item": 200,
    "requester": 200,
    "priority": 200,
    "status": 200,
    "origin": 200,
    "kind": 200,
    "reported_response_met": 200,
    "reported_resolution_met": 200,
}
COUNT_MAX = 2**31 - 1  # counts and minutes are stored as integers


@dataclass
class Normalised:
    """The tickets, the problems (errors skip a row, warnings keep it), unmapped value counts."""

    tickets: pl.DataFrame
    problems: pl.DataFrame
    unmapped: dict[str, dict[str, int]]
    date_order: str
    rows_in: int


# Every capitalisation of the markers, so a column is matched without lower-casing it.
_NULL_SPELLINGS = sorted(
    {
        "".join(c.upper() if (mask >> i) & 1 else c for i, c in enumerate(marker))
        for marker in NULL_MARKERS
        for mask in range(2 ** len(marker))
    }
)


def cells_clean(series: pl.Series) -> pl.Series:
    """Values trimmed; the null markers (empty, ?, N/A, null, -, ...) read as null."""
    return pl.select(_clean(pl.lit(series))).to_series().rename(series.name)


# Invisible marks a spreadsheet leaves around a value (a byte-order mark pasted mid-file, a
# zero-width space): "\ufeffH-2" must be the same ticket as "H-2".
# One set with Unicode's White_Space, so "X \u200b \u200b" loses all of its tail in one pass.
_INVISIBLE = "\ufeff\u200b\u200e\u200f\u2060"
_WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
_STRIPPED = _WHITE_SPACE + "\u2028\u2029\u202f\u205f\u3000" + _INVISIBLE


def _clean(column: pl.Expr) -> pl.Expr:
    stripped = column.str.strip_chars(_STRIPPED)
    return pl.when(stripped.is_in(_NULL_SPELLINGS)).then(None).otherwise(stripped)


def _value_map(
    series: pl.Series, mapping: Mapping, field_name: str
) -> tuple[pl.Series, dict[str, int]]:
    """Map a raw column to normalised values once per distinct value; count the unmapped."""
    counts = series.drop_nulls().value_counts()
    lookup, unmapped = {}, {}
    for raw, count in counts.iter_rows():
        normalised = mapping.value_for(field_name, raw)
        lookup[raw] = normalised
        if normalised is None:
            unmapped[raw] = count
    mapped = series.replace_strict(lookup, default=None, return_dtype=pl.String)
    return mapped, unmapped


def _number(series: pl.Series) -> pl.Series:
    text = series.str.replace_all(",", "")
    number = text.cast(pl.Float64, strict=False)
    if number.null_count() == text.null_count():
        return number  # every value a number: no yes or no to read (the common case, at once)
    yes_no = text.str.to_lowercase().replace_strict(
        {"yes": "1", "no": "0", "true": "1", "false": "0", "y": "1", "n": "0"},
        default=text,
        return_dtype=pl.String,
    )
    return yes_no.cast(pl.Float64, strict=False)


def _bool(series: pl.Series) -> pl.Series:
    truthy = ["true", "yes", "y", "1", "x"]
    return series.str.to_lowercase().is_in(truthy).fill_null(False)


def tickets_normalise(table_frame: pl.DataFrame, mapping: Mapping) -> Normalised:
    """Map, parse and check every row; fold event logs; keep the last row of a repeated ticket."""
    rows_in = table_frame.height
    rows = table_frame["__row"]
    if mapping.shape == "event" and "created_at" not in mapping.columns:
        # An event log without a creation column: the ticket was raised at its first update.
        columns = {**mapping.columns, "created_at": mapping.columns["updated_at"]}
        mapping = replace(mapping, columns=columns)
    problems: list[pl.DataFrame] = []

    def flag(mask: pl.Series, field: str, values, reason: str, severity: str = "error") -> bool:
        """A problem on every row where `mask` holds, naming the field's column; True if any."""
        if not mask.any():
            return False
        problems.append(row_problems(rows, mask, mapping.columns[field], values, reason, severity))
        return True

    # One select, so polars cleans the columns in parallel.
    cleaned = table_frame.select(
        _clean(pl.col(c).cast(pl.String)).alias(f) for f, c in mapping.columns.items()
    )
    raw = {f: cleaned[f].rename(c) for f, c in mapping.columns.items()}
    del cleaned
    if "sub_status" in raw:
        raw["status"] = _status_combined(raw["status"], raw.pop("sub_status"))

    stamp_fields = [f for f in (*TIMESTAMP_FIELDS, "updated_at") if f in raw]
    order = _date_order(raw, stamp_fields, mapping)

    out: dict[str, pl.Series] = {"__row": rows}
    bad = pl.repeat(False, rows_in, eager=True)

    def parse(name: str):
        in_utc = timestamps_reader(raw[name], order=order, zone=mapping.timezone)
        return in_utc, in_utc("earliest")

    # The string parsing is single-threaded in polars: the columns go two at a time. A column
    # read for two fields (an event log's update time, standing in for its creation) once.
    distinct = list({mapping.columns[f]: f for f in reversed(stamp_fields)}.values())
    with ThreadPoolExecutor(max_workers=2) as pool:
        parsed_once = dict(zip(distinct, pool.map(parse, distinct), strict=True))
    parsed_columns = {
        f: parsed_once[next(d for d in distinct if mapping.columns[d] == mapping.columns[f])]
        for f in stamp_fields
    }
    for name in stamp_fields:
        in_utc, parsed = parsed_columns.pop(name)
        if name != "created_at" and "created_at" in out:
            # A wall time repeated when clocks go back: a later event reads as the later one
            # when the earlier reading would put it before the ticket's creation.
            before = (parsed < out["created_at"]).fill_null(False)
            if before.any():
                parsed = (
                    pl.select(pl.when(before).then(in_utc("latest")).otherwise(parsed))
                    .to_series()
                    .rename(name)
                )
        outside = parsed.dt.year().is_between(FIRST_YEAR, LAST_YEAR).not_().fill_null(False)
        if flag(
            outside,
            name,
            raw[name],
            f"a date before {FIRST_YEAR} or after {LAST_YEAR} is not a ticket time",
        ):
            bad |= outside
            parsed = pl.select(pl.when(outside).then(None).otherwise(parsed)).to_series()
        unreadable = raw[name].is_not_null() & parsed.is_null() & ~outside
        example = FORMAT_EXAMPLE.get(order, FORMAT_EXAMPLE["ymd"])
        reason = f"not a date and time that exists (read as {order.upper()}, like {example})"
        if flag(unreadable, name, raw[name], reason):
            bad |= unreadable
        out[name] = parsed

    for name in ("external_id", "created_at"):
        missing = raw[name].is_null()
        if flag(missing, name, None, "required value is empty"):
            bad |= missing

    unmapped: dict[str, dict[str, int]] = {}
    for name in MAPPED_VALUE_FIELDS:
        if name not in raw:
            continue
        mapped, missing_values = _value_map(raw[name], mapping, name)
        out[name] = mapped
        out[f"{name}_raw"] = raw[name].fill_null("")
        if missing_values:
            unmapped[name] = missing_values
    if "priority" in raw and raw["priority"].is_null().any():
        empty = raw["priority"].is_null() & ~bad
        reason = "priority is empty: the ticket gets no SLA verdict (unmapped priority)"
        flag(empty, "priority", None, reason, "warning")
    text_fields = ["title", "category", "subcategory", "configuration_item", "requester", "company"]
    if mapping.shape == "event":
        text_fields += ["updated_by", "assignment_group", "assignee"]
    for name in text_fields:
        out[name] = raw[name].fill_null("") if name in raw else pl.repeat("", rows_in, eager=True)
    for name, limit in _CUT_AT.items():
        if name in raw:
            cut = (raw[name].str.len_chars() > limit).fill_null(False) & ~bad
            if cut.any():  # the values shown are built only for the rows they name
                reason = f"longer than {limit:,} characters: the first {limit:,} are kept"
                flag(cut, name, raw[name].str.slice(0, 60) + "…", reason, "warning")
    out["external_id"] = raw["external_id"]
    too_long = (raw["external_id"].str.len_chars() > ID_MAX_LENGTH).fill_null(False)
    if too_long.any():
        shown = raw["external_id"].str.slice(0, ID_MAX_LENGTH + 20)
        flag(too_long, "external_id", shown, f"ticket id longer than {ID_MAX_LENGTH} characters")
        bad |= too_long

    numbers = {
        name: _number(raw[name])
        for name in (
            "reassignment_count",
            "assignee_stations",
            "reopen_count",
            "paused_minutes",
            "first_response_minutes",
        )
        if name in raw
    }
    for name, series in numbers.items():
        # NaN and inf read as floats; neither they nor a count past an integer column are data.
        unreadable = raw[name].is_not_null() & (
            series.is_null() | series.is_nan().fill_null(False) | ~series.is_between(0, COUNT_MAX)
        ).fill_null(True)
        if flag(unreadable, name, raw[name], f"not a number from 0 to {COUNT_MAX:,}", "warning"):
            numbers[name] = pl.select(pl.when(unreadable).then(None).otherwise(series)).to_series()

    frame = pl.DataFrame(out)
    frame = _derived(frame, numbers, raw, mapping)
    if mapping.shape == "event":
        from .fold import events_fold

        frame = events_fold(frame, pause_states=set(mapping.pause_states))

    if mapping.shape == "event":
        frame = _drop_bad_tickets(frame, bad, rows)
    elif bad.any():  # a filter copies every column, even when it keeps every row
        frame = frame.filter(~bad)
    checks, frame = _check_order(frame, mapping)
    problems.extend(checks)
    problems.extend(paused_too_long(frame, mapping))
    dupes, frame = _last_row_wins(frame, mapping)
    problems.extend(dupes)
    if unmapped:
        problems.extend(_unmapped_warnings(frame, unmapped, mapping))
    frame = verdicts_stored(frame)

    problems_all = pl.concat(problems) if problems else problems_frame()
    return Normalised(
        tickets=frame,
        problems=problems_all.sort("row", nulls_last=True),
        unmapped=unmapped,
        date_order=order,
        rows_in=rows_in,
    )


def date_order_of(table_frame: pl.DataFrame, mapping: Mapping) -> str:
    """The date order the file's timestamps are read in, decided from all of them: an import
    read in parts (ingest/parts.py) decides it once for the whole file."""
    stamp_fields = [f for f in (*TIMESTAMP_FIELDS, "updated_at") if f in mapping.columns]
    sources: dict[str, str] = {}  # a column read for two fields is looked at once
    for name in stamp_fields:
        sources.setdefault(mapping.columns[name], name)
    raw = {
        name: table_frame.select(_clean(pl.col(column).cast(pl.String))).to_series()
        for column, name in sources.items()
    }
    return _date_order(raw, list(raw), mapping)


def _date_order(raw: dict[str, pl.Series], stamp_fields: list[str], mapping: Mapping) -> str:
    order = mapping.date_order
    if order != "auto":
        return order
    order = date_order_detect([raw[f] for f in stamp_fields]) or ""
    if not order:
        has_numeric = any(
            bool(raw[f].drop_nulls().str.contains(r"^\d{1,2}[/.-]\d{1,2}[/.-]").any())
            for f in stamp_fields
        )
        if has_numeric and mapping.preset_obj.date_order == "ymd":
            raise AmbiguousDates(
                "dates like 03/04/2025 could be day-first or month-first and no date in the "
                "file decides it: choose the date order (dmy or mdy)"
            )
        order = mapping.preset_obj.date_order
    return order


def _derived(frame: pl.DataFrame, numbers: dict, raw: dict, mapping: Mapping) -> pl.DataFrame:
    """Fields computed from others: counts, minutes offsets, units, defaults."""
    n = frame.height
    if "first_response_minutes" in numbers:
        offset = (numbers["first_response_minutes"] * 60_000_000).cast(pl.Int64)
        derived = frame["created_at"] + pl.Series(offset).cast(pl.Duration("us"))
        base = frame["first_response_at"] if "first_response_at" in frame.columns else None
        frame = frame.with_columns(
            first_response_at=base.fill_null(derived) if base is not None else derived
        )
    reassign = numbers.get("reassignment_count")
    if reassign is None and "assignee_stations" in numbers:
        reassign = (numbers["assignee_stations"] - 1).clip(lower_bound=0)
    paused = numbers.get("paused_minutes")
    if paused is not None and mapping.paused_unit == "hours":
        paused = paused * 60
    # Which kind of time the total counts (docs/imports.md, "Pause totals"); "" without one.
    paused_time = (
        pl.select(
            pl.when(paused.is_not_null()).then(pl.lit(mapping.paused_time)).otherwise(pl.lit(""))
        ).to_series()
        if paused is not None
        else pl.repeat("", n, eager=True)
    )
    exclude = _bool(raw["exclude_from_sla"]) if "exclude_from_sla" in raw else None
    frame = frame.with_columns(
        reassignment_count=reassign.cast(pl.Int64) if reassign is not None else None,
        reopen_count=numbers["reopen_count"].cast(pl.Int64) if "reopen_count" in numbers else None,
        paused_minutes=paused if paused is not None else None,
        paused_time=paused_time,
        exclude_from_sla=exclude if exclude is not None else pl.repeat(False, n, eager=True),
    )
    for name in TIMESTAMP_FIELDS:
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.Datetime("us")).alias(name))
    for name in MAPPED_VALUE_FIELDS:
        if name not in frame.columns:
            frame = frame.with_columns(
                pl.lit(None, dtype=pl.String).alias(name), pl.lit("").alias(f"{name}_raw")
            )
    # No status, or a closed one without a resolution time: the closing time stands in. Not in
    # an event log, whose history says when the ticket was resolved (docs/kpis.md, "Event logs").
    done = pl.col("status").is_in(["resolved", "closed"]) & (mapping.shape != "event")
    frame = frame.with_columns(
        resolved_at=pl.when(done & pl.col("resolved_at").is_null())
        .then(pl.col("closed_at"))
        .otherwise(pl.col("resolved_at")),
    ).with_columns(
        status=pl.col("status").fill_null(
            pl.when(pl.col("resolved_at").is_not_null())
            .then(pl.lit("resolved"))
            .otherwise(pl.lit("open"))
        )
    )
    return frame.with_columns(
        kind=pl.col("kind").fill_null(pl.lit(mapping.default_kind)),
        tier=pl.col("tier").cast(pl.Int16, strict=False),
        paused_intervals=pl.lit("[]"),
        reopen_gaps=pl.lit("[]"),
    )


def verdicts_stored(frame: pl.DataFrame) -> pl.DataFrame:
    """The MSP's verdicts as the ticket stores them: True (met), False (breached) or null (not
    in the export, or a value read as neither), and the raw text as the file had it. Done
    last, so an event log's verdict is its last update's (fold.py keeps the last row's)."""
    return frame.with_columns(
        *[
            pl.when(pl.col(name).is_null()).then(None).otherwise(pl.col(name) == "met").alias(name)
            for name in VERDICT_FIELDS
        ],
        *[pl.col(f"{name}_raw").alias(name.replace("_met", "_raw")) for name in VERDICT_FIELDS],
    ).drop([f"{name}_raw" for name in VERDICT_FIELDS])


def _status_combined(status: pl.Series, sub_status: pl.Series) -> pl.Series:
    """ "Status / Sub-status" read as one status; either alone when the other is empty."""
    both = pl.concat_str([status, sub_status], separator=" / ", ignore_nulls=True)
    either = pl.when(status.is_null() & sub_status.is_null()).then(None).otherwise(both)
    return pl.select(either).to_series().rename(status.name)


def _drop_bad_tickets(frame: pl.DataFrame, bad: pl.Series, rows: pl.Series) -> pl.DataFrame:
    # An event log folds many rows into one ticket: a bad row drops only that row's ticket
    # when the row carried its required values; fold already ignored unreadable updates.
    bad_rows = set(rows.filter(bad).to_list())
    return frame.filter(~pl.col("__row").is_in(list(bad_rows)))


def _check_order(frame: pl.DataFrame, mapping: Mapping) -> tuple[list[pl.DataFrame], pl.DataFrame]:
    """Times that contradict each other make the row unusable: it is reported and skipped."""
    problems, bad = [], pl.repeat(False, frame.height, eager=True)
    for name, reason in (
        ("resolved_at", "resolved before it was created"),
        ("first_response_at", "first response before the ticket was created"),
        ("closed_at", "closed before it was created"),
    ):
        if name not in mapping.columns and not (
            name == "first_response_at" and "first_response_minutes" in mapping.columns
        ):
            continue
        wrong = (frame[name] < frame["created_at"]).fill_null(False)
        if wrong.any():
            column = mapping.columns.get(name) or mapping.columns.get("first_response_minutes", "")
            values = frame.filter(wrong)[name].dt.to_string("%Y-%m-%d %H:%M UTC").to_list()
            problems.append(
                problems_frame(frame.filter(wrong)["__row"].to_list(), column, values, reason)
            )
            bad |= wrong
    return problems, frame.filter(~bad) if problems else frame


def _last_row_wins(
    frame: pl.DataFrame, mapping: Mapping
) -> tuple[list[pl.DataFrame], pl.DataFrame]:
    """A ticket id twice in one file: the later row wins, and a warning names the earlier."""
    keys = ["company", "external_id"]
    # Only the key and row columns are searched, not copies of whole rows; and the pair, not
    # the id alone, repeats: two clients' tickets may share a number.
    repeated = frame.select(*keys, "__row").filter(pl.col("external_id").is_duplicated())
    repeated = repeated.filter(pl.struct(keys).is_duplicated())
    if repeated.is_empty():
        return [], frame
    last_rows = repeated.group_by(keys).agg(pl.col("__row").max().alias("kept"))
    earlier = repeated.join(last_rows, on=keys).filter(pl.col("__row") != pl.col("kept"))
    warning = problems_frame(
        earlier["__row"].to_list(),
        mapping.columns["external_id"],
        earlier["external_id"].to_list(),
        [
            f"ticket appears again at row {kept}; the later row is imported"
            for kept in earlier["kept"]
        ],
        "warning",
    )
    # The rows are in file order, so dropping the earlier ones keeps the last of each.
    return [warning], frame.filter(~pl.col("__row").is_in(earlier["__row"].implode()))


def _unmapped_warnings(
    frame: pl.DataFrame, unmapped: dict[str, dict[str, int]], mapping: Mapping
) -> list[pl.DataFrame]:
    out = []
    for name, values in unmapped.items():
        raws = frame.filter(pl.col(f"{name}_raw").is_in(list(values)))
        out.append(
            problems_frame(
                raws["__row"].to_list(),
                mapping.columns[name],
                raws[f"{name}_raw"].to_list(),
                _unmapped_reason(name, mapping),
                "warning",
            )
        )
    return out


def _unmapped_reason(name: str, mapping: Mapping) -> str:
    """What an unmapped value means for its ticket, in the words of its warning."""
    if name in VERDICT_FIELDS:
        clock = "response" if name == "reported_response_met" else "resolution"
        return (
            f"not read as met or breached: the MSP's {clock} verdict is left unknown (the "
            "value is kept; a value map in the mapping can say what it means)"
        )
    consequence = {
        "priority": "the ticket gets no SLA verdict (unmapped priority)",
        "status": "the ticket is counted as open",
        "origin": "its origin is unknown (left out of the proactive ratio)",
        "tier": "its tier is unknown",
        "kind": f"it is counted as {mapping.default_kind}",
    }[name]
    return f"value not mapped to a normalised {name}: {consequence}"


def safe_text(value: str) -> str:
    """A cell that a spreadsheet would run as a formula, made inert for CSV exports."""
    return "'" + value if value and value[0] in "=+-@\t\r" else value
