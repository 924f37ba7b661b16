"""The column names of backup job reports and restore test reports as Veeam, Datto (BCDR,
SIRIS), Acronis Cyber Protect and a generic layout give them, and the words each tool uses
for a run's or a test's result, normalised to success / warning / failed. docs/evidence.md
says where each name comes from and how sure we are of it. Pure."""

from __future__ import annotations

from kpis.imports.ingest.presets import header_key

from .backups import FAILED, SUCCESS, WARNING
from .layouts import Layout, Preset, presets_of

BACKUP_FIELDS = ("job", "device", "started", "ended", "result")
BACKUP_WORDS = {
    "job": "backup job or plan",
    "device": "device or protected machine",
    "started": "start time",
    "ended": "end time",
    "result": "result",
}
RESTORE_FIELDS = ("system", "tested_on", "result", "scope")
RESTORE_WORDS = {
    "system": "protected system",
    "tested_on": "test date",
    "result": "result",
    "scope": "what was restored",
}

# Result words, compared as header keys (case, spacing and punctuation do not matter).
BACKUP_RESULTS = {
    **dict.fromkeys(
        ["success", "succeeded", "successful", "completed", "complete", "ok", "passed"], SUCCESS
    ),
    **dict.fromkeys(
        [
            "warning",
            "warnings",
            "succeeded with warnings",
            "success with warnings",
            "completed with warnings",
            "partial",
            "partially succeeded",
            "partial success",
        ],
        WARNING,
    ),
    **dict.fromkeys(
        [
            "failed",
            "failure",
            "error",
            "errors",
            "unsuccessful",
            "cancelled",
            "canceled",
            "aborted",
            "missed",
            "not run",
        ],
        FAILED,
    ),
}
# A restore test either showed the system can be brought back or it did not: a test that
# ended with a warning did not show it, so it counts as failed (its own word is kept).
RESTORE_RESULTS = {
    **dict.fromkeys(
        [
            "success",
            "succeeded",
            "successful",
            "passed",
            "pass",
            "restored",
            "verified",
            "ok",
            "completed",
            "complete",
            "completed successfully",
        ],
        SUCCESS,
    ),
    **dict.fromkeys(
        [
            "failed",
            "failure",
            "error",
            "unsuccessful",
            "warning",
            "succeeded with warnings",
            "cancelled",
            "canceled",
            "aborted",
            "not verified",
        ],
        FAILED,
    ),
}
# Words of a run or a test still going when the report was exported: it has no result yet.
UNFINISHED = {"running", "in progress", "pending", "queued", "working", "started", "none"}

BACKUP_PRESETS: dict[str, Preset] = presets_of(
    Preset(
        "veeam",
        "Veeam Backup & Replication / Veeam ONE",
        {
            "job": ("Job Name", "Job", "Backup Job"),
            "device": ("Object", "Object Name", "VM Name", "VM", "Computer", "Name"),
            "started": ("Start Time", "Creation Time", "Started"),
            "ended": ("End Time", "Stop Time", "Finished"),
            "result": ("Status", "Result", "State"),
        },
    ),
    Preset(
        "datto",
        "Datto BCDR (SIRIS, ALTO)",
        {
            "job": ("Backup Type", "Type", "Job"),
            "device": ("Protected Machine", "Agent", "Agent Name", "Asset", "Hostname"),
            "started": ("Backup Time", "Snapshot Time", "Timestamp", "Start Time"),
            "ended": ("End Time",),
            "result": ("Backup Status", "Status", "Result"),
        },
    ),
    Preset(
        "acronis",
        "Acronis Cyber Protect",
        {
            "job": ("Plan", "Protection Plan", "Plan Name"),
            "device": ("Machine", "Workload", "Device", "Device Name", "Resource"),
            "started": ("Start Time", "Started", "Start"),
            "ended": ("Finish Time", "End Time", "Finished"),
            "result": ("Status", "Result", "State"),
        },
    ),
    Preset(
        "generic",
        "Generic (one column per field)",
        {f: (f,) for f in BACKUP_FIELDS},
    ),
)

RESTORE_PRESETS: dict[str, Preset] = presets_of(
    Preset(
        "veeam",
        "Veeam SureBackup / restore sessions",
        {
            "system": ("VM Name", "Object", "Object Name", "VM", "Name"),
            "tested_on": ("Start Time", "Creation Time", "Date", "Test Date"),
            "result": ("Result", "Status", "State"),
            "scope": ("Job Name", "Test", "Restore Type", "Type"),
        },
    ),
    Preset(
        "datto",
        "Datto BCDR screenshot verification",
        {
            "system": ("Protected Machine", "Agent", "Agent Name", "Hostname"),
            "tested_on": ("Screenshot Time", "Verification Time", "Date", "Timestamp"),
            "result": ("Screenshot Status", "Verification Status", "Status", "Result"),
            "scope": ("Verification Type", "Type"),
        },
    ),
    Preset(
        "acronis",
        "Acronis Cyber Protect recovery activities",
        {
            "system": ("Machine", "Workload", "Device", "Device Name"),
            "tested_on": ("Start Time", "Started", "Date"),
            "result": ("Status", "Result", "State"),
            "scope": ("Activity", "Recovery Type", "Type", "Description"),
        },
    ),
    Preset(
        "generic",
        "Generic (one column per field)",
        {f: (f,) for f in RESTORE_FIELDS},
    ),
)

BACKUP_LAYOUT = Layout(
    kind="backups",
    fields=BACKUP_FIELDS,
    required=("device", "started", "result"),
    field_words=BACKUP_WORDS,
    date_fields=("started", "ended"),
    presets=BACKUP_PRESETS,
)

RESTORE_LAYOUT = Layout(
    kind="restores",
    fields=RESTORE_FIELDS,
    required=("system", "tested_on", "result"),
    field_words=RESTORE_WORDS,
    date_fields=("tested_on",),
    presets=RESTORE_PRESETS,
)


def result_of(word: str, results: dict[str, str]) -> str | None:
    """success / warning / failed for a tool's word; None when the word is not known."""
    return results.get(header_key(word))


def is_unfinished(word: str) -> bool:
    return header_key(word) in UNFINISHED
