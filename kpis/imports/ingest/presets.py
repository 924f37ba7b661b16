"""What each PSA's export looks like: which column holds which normalised field, and value guesses.

A preset names, per normalised field, the header names that PSA uses (first found wins), the time
zone its naive timestamps are in (None: the client's local zone, asked at import), the usual date
order, and value maps that override the keyword guesses below. The mapping step starts from the
preset and lets the user change every part of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Normalised fields an export can fill, in the order the mapping form shows them.
TICKET_FIELDS: dict[str, str] = {
    "external_id": "Ticket number",
    "title": "Title / summary",
    "company": "Company (for exports holding several clients)",
    "kind": "Type (incident, request, ...)",
    "priority": "Priority",
    "status": "Status",
    "sub_status": "Sub-status (read together with the status)",
    "origin": "Source / channel",
    "category": "Category",
    "subcategory": "Subcategory",
    "configuration_item": "Device / configuration item",
    "requester": "Requester",
    "created_at": "Created",
    "first_response_at": "First response",
    "first_response_minutes": "Minutes to first response (instead of a timestamp)",
    "resolved_at": "Resolved",
    "closed_at": "Closed",
    "tier": "Tier / escalation level / group",
    "escalated_at": "Escalated",
    "reassignment_count": "Reassignments",
    "assignee_stations": "Assignees over the ticket's life (Zendesk stations)",
    "reopen_count": "Reopens",
    "paused_minutes": "Time paused (total)",
    "exclude_from_sla": "Excluded from SLA",
    # The PSA's own SLA verdicts (docs/imports.md, "The MSP's own SLA verdicts"): kept beside
    # the portal's, never used to compute them.
    "reported_response_met": "The MSP's response verdict",
    "reported_resolution_met": "The MSP's resolution verdict",
}
# Event-log exports (one row per update) also need these.
EVENT_FIELDS: dict[str, str] = {
    "updated_at": "Update time",
    "updated_by": "Updated by",
    "assignment_group": "Assignment group",
    "assignee": "Assignee",
}
REQUIRED_FIELDS = ("external_id", "created_at")
TIMESTAMP_FIELDS = ("created_at", "first_response_at", "resolved_at", "closed_at", "escalated_at")
# The MSP's verdicts are read as values like the others: "met" or "breached" (stored as a
# nullable boolean, kpis.Ticket.reported_*_met), the raw value kept.
VERDICT_FIELDS = ("reported_response_met", "reported_resolution_met")
MAPPED_VALUE_FIELDS = ("priority", "status", "origin", "tier", "kind", *VERDICT_FIELDS)
DATE_ORDERS = ("mdy", "dmy", "ymd")
PAUSED_TIMES = ("calendar", "business")  # wall-clock time, or the tool's business hours


@dataclass(frozen=True)
class Preset:
    """One PSA export layout."""

    name: str
    label: str
    columns: dict[str, tuple[str, ...]]
    shape: str = "ticket"  # "ticket": a row per ticket; "event": a row per ticket update
    timezone: str | None = None  # None: naive times are local to the client
    date_order: str = "mdy"
    # The exported pause total (`paused_minutes`): its unit, and whether it counts wall-clock
    # (calendar) time or the tool's business hours (docs/imports.md, "Pause totals"). When a
    # tool's documentation does not settle it, calendar: read as calendar time, a business
    # total is subtracted short, never long (docs/kpis.md, "The clock").
    paused_unit: str = "minutes"  # or "hours"
    paused_time: str = "calendar"  # or "business"
    default_kind: str = "incident"
    values: dict[str, dict[str, str]] = field(default_factory=dict)


_SERVICENOW_COLUMNS = {
    "external_id": ("number",),
    "title": ("short_description",),
    "company": ("company",),
    "status": ("incident_state", "state"),
    "priority": ("priority",),
    "origin": ("contact_type",),
    "category": ("category",),
    "subcategory": ("subcategory",),
    "configuration_item": ("cmdb_ci",),
    "requester": ("caller_id",),
    "created_at": ("opened_at",),
    "resolved_at": ("resolved_at",),
    "closed_at": ("closed_at",),
    "tier": ("assignment_group",),
    "reassignment_count": ("reassignment_count",),
    "reopen_count": ("reopen_count",),
    # Made SLA: cleared when any SLA of the incident breached, so the resolution verdict
    # (docs/imports.md, "The MSP's own SLA verdicts"); in an audit export, the last update's.
    "reported_resolution_met": ("made_sla",),
}

_HALO_SLA_STATES = {"i": "met", "o": "breached"}

# ServiceNow's `New` is an incident nobody has picked up yet (docs/kpis.md, "Event logs").
_SERVICENOW_VALUES = {"status": {"new": "new"}}

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset(
            "connectwise",
            "ConnectWise Manage: service tickets",
            {
                "external_id": ("Ticket #", "Ticket Number", "Ticket"),
                "title": ("Summary Description", "Summary"),
                "company": ("Company", "Company Name"),
                "status": ("Status",),
                "priority": ("Priority",),
                "origin": ("Source",),
                "category": ("Type",),
                "subcategory": ("Subtype",),
                "configuration_item": ("Configuration", "Config"),
                "requester": ("Contact",),
                "created_at": ("Date Entered", "Entered"),
                "first_response_at": ("Date Responded",),
                "resolved_at": ("Date Resolved",),
                "closed_at": ("Closed Date", "Date Closed"),
                "tier": ("Escalation Level",),
                "reopen_count": ("Reopened",),
                "paused_minutes": ("Waiting Minutes",),
            },
            paused_time="calendar",  # docs/imports.md, "Pause totals"
        ),
        Preset(
            "autotask",
            "Autotask PSA: tickets",
            {
                "external_id": ("ticketNumber", "Ticket Number", "id"),
                "title": ("title", "Title"),
                "company": ("companyID", "Account", "Company"),
                "status": ("status", "Status"),
                "priority": ("priority", "Priority"),
                "origin": ("source", "Source"),
                "kind": ("ticketType", "Ticket Type"),
                "category": ("issueType", "Issue Type"),
                "subcategory": ("subIssueType", "Sub-Issue Type"),
                "configuration_item": ("configurationItemID", "Configuration Item"),
                "requester": ("contactID", "Contact"),
                "created_at": ("createDate", "Created"),
                "first_response_at": ("firstResponseDateTime", "First Response"),
                "resolved_at": ("resolvedDateTime", "Resolved"),
                "closed_at": ("completedDate", "Complete Date"),
                # One flag for all the ticket's SLA events: read as the resolution verdict.
                "reported_resolution_met": (
                    "serviceLevelAgreementHasBeenMet",
                    "Service Level Agreement Has Been Met",
                ),
            },
            timezone="UTC",
            date_order="ymd",
            values={"origin": {"insourced": "proactive"}},
        ),
        Preset(
            "halopsa",
            "HaloPSA: tickets",
            {
                "external_id": ("id",),
                "title": ("summary",),
                "company": ("client_name",),
                "kind": ("tickettype_name",),
                "status": ("status_name",),
                "priority": ("priority_id",),
                "origin": ("source",),
                "category": ("category_1",),
                "subcategory": ("category_2",),
                "configuration_item": ("asset_key_field_string",),
                "requester": ("user_name",),
                "created_at": ("dateoccurred",),
                "first_response_at": ("responsedate",),
                "resolved_at": ("datecleared",),
                "tier": ("escalation_level", "team"),
                "reopen_count": ("reopened",),
                "paused_minutes": ("slaholdtime",),
                "exclude_from_sla": ("excludefromsla",),
                "reported_response_met": ("slaresponsestate",),
                "reported_resolution_met": ("slastate",),
            },
            timezone="UTC",
            date_order="ymd",
            paused_unit="hours",
            paused_time="calendar",  # docs/imports.md, "Pause totals"
            # HaloPSA's SLA states: I = inside the target, O = outside it.
            values={
                "reported_response_met": _HALO_SLA_STATES,
                "reported_resolution_met": _HALO_SLA_STATES,
            },
        ),
        Preset(
            "servicenow",
            "ServiceNow: incidents (a row per incident)",
            _SERVICENOW_COLUMNS,
            date_order="ymd",
            values=_SERVICENOW_VALUES,
        ),
        Preset(
            "servicenow_audit",
            "ServiceNow: incident audit (a row per update)",
            {
                **_SERVICENOW_COLUMNS,
                "updated_at": ("sys_updated_at",),
                "updated_by": ("sys_updated_by",),
                "assignment_group": ("assignment_group",),
                "assignee": ("assigned_to",),
            },
            shape="event",
            date_order="ymd",
            values=_SERVICENOW_VALUES,
        ),
        Preset(
            "event_log",
            "Any tool: event log (a row per ticket update)",
            {
                "external_id": ("Ticket", "Ticket ID", "Case ID", "Problem ID", "Number", "ID"),
                "title": ("Title", "Summary", "Subject"),
                "company": ("Company", "Client", "Customer", "Organization", "Organisation"),
                "status": ("Status", "State"),
                "sub_status": ("Sub Status", "Substatus", "Sub-status"),
                "priority": ("Priority", "Impact", "Severity"),
                "created_at": ("Created", "Opened", "Created At"),
                "resolved_at": ("Resolved", "Resolved At"),
                "updated_at": (
                    "Updated",
                    "Updated At",
                    "Last Updated",
                    "Last Modified",
                    "Date Modified",
                    "Timestamp",
                    "Time",
                    "Event Time",
                ),
                # A process-mining log's resource is who made the update, not an assignee.
                "updated_by": ("Updated By", "User", "Resource", "Owner"),
                "assignment_group": ("Assignment Group", "Group", "Team", "Support Team"),
                "assignee": ("Assignee", "Assigned To"),
            },
            shape="event",
            timezone="UTC",
            date_order="ymd",
        ),
        Preset(
            "zendesk",
            "Zendesk: tickets with metrics",
            {
                "external_id": ("Id", "ID"),
                "title": ("Subject",),
                "company": ("Organization",),
                "kind": ("Type",),
                "status": ("Status",),
                "priority": ("Priority",),
                "origin": ("Via",),
                "tier": ("Group",),
                "requester": ("Requester",),
                "created_at": ("Created at",),
                "resolved_at": ("Solved at",),
                "first_response_minutes": ("First reply time in minutes",),
                "reopen_count": ("Reopens",),
                "assignee_stations": ("Assignee stations",),
                "paused_minutes": ("On hold time in minutes",),
            },
            paused_time="calendar",  # Zendesk's calendar on-hold minutes (docs/imports.md)
            date_order="ymd",
            values={"origin": {"api": "proactive"}, "kind": {"task": "request"}},
        ),
        Preset(
            "freshservice",
            "Freshservice: tickets",
            {
                "external_id": ("Ticket Id", "Ticket ID"),
                "title": ("Subject",),
                "company": ("Department", "Company"),
                "kind": ("Type",),
                "status": ("Status",),
                "priority": ("Priority",),
                "origin": ("Source",),
                "category": ("Category",),
                "subcategory": ("Sub-Category",),
                "requester": ("Requester Name", "Requester Email"),
                "tier": ("Group",),
                "created_at": ("Created Date", "Created Time"),
                "first_response_at": ("First Responded Date", "First Response Time"),
                "resolved_at": ("Resolved Date", "Resolved Time"),
                "closed_at": ("Closed Date", "Closed Time"),
                "reported_response_met": ("First Response Status",),
                "reported_resolution_met": ("Resolution Status",),
            },
        ),
        Preset(
            "jira_sm",
            "Jira Service Management: issues",
            {
                "external_id": ("Issue key",),
                "title": ("Summary",),
                "kind": ("Issue Type",),
                "status": ("Status",),
                "priority": ("Priority",),
                "origin": ("Custom field (Request Type)", "Request Type"),
                "category": ("Labels", "Component/s"),
                "requester": ("Reporter",),
                "created_at": ("Created",),
                "first_response_at": ("Custom field ([CHART] Date of First Response)",),
                "resolved_at": ("Resolved",),
                "reported_response_met": ("Custom field (Time to first response)",),
                "reported_resolution_met": ("Custom field (Time to resolution)",),
            },
            date_order="dmy",
            values={
                "origin": {"monitoring alert": "proactive", "get it help": "reactive"},
                "kind": {"[system] service request": "request"},
                # A request's first status: the customer waits for the desk, nothing is paused.
                "status": {"waiting for support": "new"},
            },
        ),
        Preset(
            "syncro",
            "Syncro: tickets",
            {
                "external_id": ("Ticket Number", "Number", "Ticket ID"),
                "title": ("Subject",),
                "company": ("Customer", "Business Name"),
                "status": ("Status",),
                "priority": ("Priority",),
                "origin": ("Ticket Source", "Source"),
                "category": ("Problem Type", "Issue Type"),
                "configuration_item": ("Asset",),
                "requester": ("Contact",),
                "created_at": ("Created", "Created At"),
                "first_response_at": ("First Response",),
                "resolved_at": ("Resolved", "Resolved At"),
            },
        ),
        Preset(
            "atera",
            "Atera: tickets",
            {
                "external_id": ("Ticket ID",),
                "title": ("Ticket Title", "Title"),
                "company": ("Customer Name", "Customer"),
                "kind": ("Ticket Type",),
                "status": ("Ticket Status", "Status"),
                "priority": ("Ticket Priority", "Priority"),
                "origin": ("Ticket Source", "Source"),
                "requester": ("End User Email", "End User"),
                "created_at": ("Ticket Created Date", "Created"),
                "first_response_at": ("First Response Date",),
                "resolved_at": ("Ticket Resolved Date", "Resolved Date"),
                "closed_at": ("Ticket Closed Date", "Closed Date"),
            },
        ),
        Preset(
            "generic",
            "Generic spreadsheet",
            {
                "external_id": ("Ticket", "Ticket ID", "Ticket Number", "ID", "Number", "Key"),
                "title": ("Title", "Summary", "Subject", "Description"),
                "company": ("Company", "Client", "Customer", "Organization", "Organisation"),
                "kind": ("Type", "Kind", "Ticket Type"),
                "status": ("Status", "State"),
                "priority": ("Priority", "Severity"),
                "origin": ("Channel", "Source", "Origin", "Via"),
                "category": ("Category",),
                "subcategory": ("Subcategory", "Sub-category"),
                "configuration_item": ("Device", "Asset", "Configuration Item", "CI"),
                "requester": ("User", "Requester", "Contact", "Caller"),
                "created_at": ("Opened", "Created", "Created At", "Date Opened", "Opened At"),
                "first_response_at": ("First Response", "Responded", "First Response At"),
                "resolved_at": ("Resolved", "Resolved At", "Date Resolved", "Solved"),
                "closed_at": ("Closed", "Closed At", "Date Closed"),
                "tier": ("Tier", "Level", "Escalation Level"),
                "reopen_count": ("Reopens", "Reopened"),
                "reassignment_count": ("Reassignments",),
                "paused_minutes": ("Paused Minutes", "On Hold Minutes"),
                "reported_response_met": ("Response SLA Met", "Response SLA"),
                "reported_resolution_met": ("Resolution SLA Met", "Resolution SLA", "Made SLA"),
            },
        ),
    ]
}


def header_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


def preset_columns(preset: Preset, header: list[str]) -> dict[str, str]:
    """Field → the header column the preset finds for it in this file."""
    present = {header_key(h): h for h in header}
    found = {}
    for field_name, candidates in preset.columns.items():
        for candidate in candidates:
            if header_key(candidate) in present:
                found[field_name] = present[header_key(candidate)]
                break
    return found


def preset_guess(header: list[str]) -> Preset:
    """The preset whose column names this header matches best (generic on a tie)."""

    def score(preset: Preset) -> tuple[float, int]:
        found = preset_columns(preset, header)
        required = (*REQUIRED_FIELDS, "updated_at") if preset.shape == "event" else REQUIRED_FIELDS
        if not all(f in found for f in required):
            return (0.0, 0)
        return (len(found) / len(preset.columns), len(found))

    ranked = sorted(PRESETS.values(), key=lambda p: (score(p), p.name != "generic"), reverse=True)
    return ranked[0]


# --- Value guesses, used where neither the preset nor the user has mapped a value -------------

_PRIORITY_WORDS = [
    ("P1", r"\b(p?1|critical|emergency|urgent|highest|sev(erity)? ?1)\b"),
    ("P2", r"\b(p?2|high|quick|sev(erity)? ?2)\b"),
    ("P3", r"\b(p?3|medium|normal|moderate|standard|sev(erity)? ?3)\b"),
    ("P4", r"\b(p?4|low|lowest|planning|schedule[d]?|sev(erity)? ?4)\b"),
]
_ORIGIN_WORDS = [
    ("proactive", r"monitor|alert|rmm|automat|noc|api|system|scheduled|proactive|insourced"),
    ("reactive", r"phone|voice|call|e-?mail|portal|web|chat|walk|self.?service|help|user|form"),
]
_STATE_WORDS = [
    ("cancelled", r"cancel|merged|duplicate|withdrawn|void"),
    ("closed", r"closed|complete|done"),
    ("resolved", r"resolved|solved|fixed|cleared"),
    # Raised and not yet acted on (docs/kpis.md, "Event logs"); before `paused`, which would
    # otherwise read "awaiting assignment" as a wait.
    ("new", r"^new\b|unassigned|awaiting assignment|not assigned|^queued\b"),
    ("paused", r"wait|pending|on.?hold|awaiting|paused|scheduled"),
    ("open", r"new|open|active|progress|assigned|acknowledged|work|triage|escalated|reopen"),
]
_KIND_WORDS = [
    ("alert", r"alert|alarm|event"),
    ("request", r"request|task|question|access|onboard"),
    ("problem", r"problem"),
    ("change", r"change"),
    ("incident", r"incident|issue|fault|break"),
]
_TIER_WORDS = [
    ("3", r"\b(tier|level|l)? ?3\b|third|infrastructure|engineering|senior"),
    ("2", r"\b(tier|level|l)? ?2\b|second|desktop support|escalat"),
    ("1", r"\b(tier|level|l)? ?1\b|first|service ?desk|help ?desk|front"),
]
# Whole values only (anchored): a verdict is never guessed from a word inside other text, so
# "not breached" cannot be read as "breached", nor a comment mentioning a breach as a verdict.
_VERDICT_WORDS = [
    (
        "met",
        r"^(true|yes|y|1|met|sla met|achieved|fulfilled|ok|pass(ed)?|on time"
        r"|within( the)? sla|in sla|within target|not breached|no breach|not violated"
        r"|breached ?= ?false)$",
    ),
    (
        "breached",
        r"^(false|no|n|0|breached|breach|sla breached|violated|sla violated|missed|sla missed"
        r"|failed|fail|not met|sla not met|late|overdue|outside( the)? sla"
        r"|breached ?= ?true)$",
    ),
]
_GUESSES = {
    "priority": _PRIORITY_WORDS,
    "origin": _ORIGIN_WORDS,
    "status": _STATE_WORDS,
    "kind": _KIND_WORDS,
    "tier": _TIER_WORDS,
    "reported_response_met": _VERDICT_WORDS,
    "reported_resolution_met": _VERDICT_WORDS,
}
NORMALISED_VALUES = {
    "priority": ("P1", "P2", "P3", "P4"),
    "origin": ("proactive", "reactive"),
    "status": ("new", "open", "paused", "resolved", "closed", "cancelled"),
    "kind": ("incident", "request", "problem", "change", "alert"),
    "tier": ("1", "2", "3"),
    "reported_response_met": ("met", "breached"),
    "reported_resolution_met": ("met", "breached"),
}


def value_key(raw: str) -> str:
    """How raw values are compared: case, surrounding space and repeated spaces ignored."""
    return " ".join(raw.lower().split())


def value_guess(field_name: str, raw: str, preset: Preset | None = None) -> str | None:
    """The normalised value a raw export value most likely means, or None when unsure."""
    key = value_key(raw)
    if preset and key in preset.values.get(field_name, {}):
        return preset.values[field_name][key]
    for normalised, pattern in _GUESSES[field_name]:
        if re.search(pattern, key):
            return normalised
    return None
