"""Phishing-simulation results and technician MFA lists read into rows, with a problem for each
row left out (or kept with a doubt) naming the row, the column and the value. The table is read
by evidence/read.py. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .hygiene import RecipientResult, campaigns_from_recipients
from .hygiene_presets import (
    MFA_LAYOUT,
    MFA_WORDS,
    PHISHING_LAYOUT,
    PHISHING_WORDS,
    method_words,
    yes_no,
)
from .layouts import Preset
from .read import problem, report_table_read


@dataclass
class HygieneRead:
    rows: list[dict] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)
    rows_read: int = 0
    # Phishing: the file had one row per recipient, summed per campaign.
    per_recipient: bool = False


_WHOLE = re.compile(r"^\d+(\.0+)?$")


# The largest count a row may hold (the database's integer): more is no campaign's size.
COUNT_MAX = 2**31 - 1


def whole_number(text: str) -> int | None:
    """ "1,200", "1 200", "12" and Excel's "12.0" as a count; None for anything else, and for
    a count past COUNT_MAX."""
    cleaned = text.replace(",", "").replace(" ", "").replace("\u00a0", "")
    if not _WHOLE.match(cleaned):
        return None
    count = int(cleaned.split(".")[0])  # exact: no float, however many digits
    return count if count <= COUNT_MAX else None


# ---- Phishing ----------------------------------------------------------------------------


def phishing_report_read(
    data: bytes, filename: str, preset: Preset, mapping: dict[str, str] | None = None
) -> HygieneRead:
    """The campaigns ({campaign, sent_on, recipients, clicked, reported, submitted, row});
    a per-recipient file (a recipient column, no recipients count) is summed per campaign.
    Raises UnusableFile when the file as a whole cannot be used."""
    table = report_table_read(
        data,
        filename,
        PHISHING_LAYOUT,
        preset,
        mapping,
        needs_one_of=(("recipients", "recipient"),),
    )
    if "recipients" in table.columns:
        return _campaign_rows(table)
    return _recipient_rows(table)


def _campaign_problem(row: int, columns: dict, text: dict, sent_on) -> dict | None:
    """Why a row names no campaign a period can count (no campaign, no day sent), or None."""
    if not text["campaign"]:
        return problem(row, columns["campaign"], "", "the campaign is empty")
    if sent_on is None:
        return problem(
            row,
            columns["sent_on"],
            text["sent_on"],
            "not a date: the day it was sent says which period it answers for",
        )
    return None


def _campaign_rows(table) -> HygieneRead:
    columns, sent = table.columns, table.dates["sent_on"]
    out = HygieneRead(rows_read=table.rows_read)
    kept: dict[tuple, dict] = {}  # a later row for the same campaign and day replaces the earlier
    for i, row, text in table.records():
        bad = _campaign_problem(row, columns, text, sent[i])
        if bad is not None:
            out.problems.append(bad)
            continue
        counts = {}
        for f in ("recipients", "clicked", "reported", "submitted"):
            if f not in columns or (f == "submitted" and not text[f]):
                counts[f] = None
                continue
            counts[f] = whole_number(text[f])
            if counts[f] is None:
                bad = problem(row, columns[f], text[f], f"the {PHISHING_WORDS[f]}: not a count")
                break
        if bad is None:
            for f in ("clicked", "reported", "submitted"):
                if counts[f] is not None and counts[f] > counts["recipients"]:
                    bad = problem(
                        row,
                        columns[f],
                        text[f],
                        f"more {PHISHING_WORDS[f]} than recipients ({counts['recipients']})",
                    )
                    break
        if bad is not None:
            out.problems.append(bad)
            continue
        key = (text["campaign"], sent[i])
        if key in kept:
            out.problems.append(
                problem(
                    row,
                    columns["campaign"],
                    text["campaign"],
                    f"the same campaign and day as row {kept[key]['row']}: this later row is kept",
                )
            )
        kept[key] = {
            "row": row,
            "campaign": text["campaign"][:255],
            "sent_on": sent[i],
            **counts,
        }
    out.rows = list(kept.values())
    return out


def _flag(out, row, column, value, *, if_unknown: bool, words: str) -> bool:
    """A per-recipient cell: empty or a no word is no; a yes word or a time is yes; anything
    else is a problem, counted the way that does not flatter the result (`if_unknown`)."""
    answer = yes_no(value)
    if answer is not None:
        return answer
    if value and _looks_like_time(value):
        return True
    out.problems.append(
        problem(
            row,
            column,
            value,
            f"not a yes or no word, nor a time: counted as {words}",
        )
    )
    return if_unknown


_TIME = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")


def _looks_like_time(value: str) -> bool:
    return bool(_TIME.search(value))


def _recipient_rows(table) -> HygieneRead:
    columns, sent = table.columns, table.dates["sent_on"]
    out = HygieneRead(rows_read=table.rows_read, per_recipient=True)
    results: list[RecipientResult] = []
    seen: dict[tuple[str, str], int] = {}
    for i, row, text in table.records():
        if text["campaign"] and not text["recipient"]:
            out.problems.append(problem(row, columns["recipient"], "", "the recipient is empty"))
            continue
        bad = _campaign_problem(row, columns, text, sent[i])
        if bad is not None:
            out.problems.append(bad)
            continue
        key = (text["campaign"], text["recipient"].lower())
        if key in seen:
            out.problems.append(
                problem(
                    row,
                    columns["recipient"],
                    text["recipient"],
                    f"the same recipient of the campaign as row {seen[key]}: counted once",
                )
            )
            continue
        seen[key] = row
        # An unreadable click counts as a click and an unreadable report as none: a cell we
        # cannot read must not make the result look better than it is.
        clicked = _flag(
            out, row, columns["clicked"], text["clicked"], if_unknown=True, words="clicked"
        )
        reported = _flag(
            out, row, columns["reported"], text["reported"], if_unknown=False, words="not reported"
        )
        submitted = None
        if "submitted" in columns:
            submitted = _flag(
                out,
                row,
                columns["submitted"],
                text["submitted"],
                if_unknown=True,
                words="data entered",
            )
        results.append(
            RecipientResult(text["campaign"][:255], sent[i], clicked, reported, submitted)
        )
    out.rows = [
        {
            "row": None,
            "campaign": c.campaign,
            "sent_on": c.sent_on,
            "recipients": c.recipients,
            "clicked": c.clicked,
            "reported": c.reported,
            "submitted": c.submitted,
        }
        for c in campaigns_from_recipients(results)
    ]
    return out


# ---- Technician MFA ----------------------------------------------------------------------


def mfa_report_read(
    data: bytes, filename: str, preset: Preset, mapping: dict[str, str] | None = None
) -> HygieneRead:
    """The technicians ({technician, mfa, method, row}). A technician whose MFA cell cannot be
    read is kept as without MFA, with a problem: an attestation is not kept by a cell nobody
    can read. Raises UnusableFile when the file as a whole cannot be used."""
    table = report_table_read(data, filename, MFA_LAYOUT, preset, mapping)
    columns = table.columns
    out = HygieneRead(rows_read=table.rows_read)
    kept: dict[str, dict] = {}
    for _i, row, text in table.records():
        name = text["technician"]
        if not name:
            out.problems.append(problem(row, columns["technician"], "", "the technician is empty"))
            continue
        answer = yes_no(text["mfa"]) if text["mfa"] else None
        if answer is None:
            out.problems.append(
                problem(
                    row,
                    columns["mfa"],
                    text["mfa"],
                    f"{'empty' if not text['mfa'] else 'not a yes or no word'}: "
                    f"counted without MFA",
                )
            )
            answer = False
        key = name.lower()
        if key in kept:
            # Listed twice: with MFA only if both rows say so.
            out.problems.append(
                problem(
                    row,
                    columns["technician"],
                    name,
                    f"the same technician as row {kept[key]['row']}: with MFA only if both say so",
                )
            )
            kept[key]["mfa"] = kept[key]["mfa"] and answer
            continue
        kept[key] = {
            "row": row,
            "technician": name[:255],
            "mfa": answer,
            "method": method_words(text.get("method", ""))[:100],
        }
    out.rows = list(kept.values())
    return out


__all__ = ["MFA_WORDS", "HygieneRead", "mfa_report_read", "phishing_report_read", "whole_number"]
