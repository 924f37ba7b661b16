"""Normalised tickets and the imports that bring them in (see docs/kpis.md)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Ticket(models.Model):
    """One PSA ticket in the portal's normalised form; re-imports upsert on its natural key."""

    class Kind(models.TextChoices):
        INCIDENT = "incident", "Incident"
        REQUEST = "request", "Service request"
        PROBLEM = "problem", "Problem"
        CHANGE = "change", "Change"
        ALERT = "alert", "Alert"

    class State(models.TextChoices):
        NEW = "new", "New"  # raised, nobody has acted on it yet (docs/kpis.md, "Event logs")
        OPEN = "open", "Open"
        PAUSED = "paused", "Paused"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"
        CANCELLED = "cancelled", "Cancelled"

    class Origin(models.TextChoices):
        PROACTIVE = "proactive", "Proactive"
        REACTIVE = "reactive", "Reactive"

    # No database constraint or index of its own on the two references below: a million-row
    # import COPYs straight into this table, and each per-row FK check or extra index costs
    # seconds. The natural-key index starts with client_id; clients come only from contracts, and
    # Django still cascades a deleted client to its tickets.
    client = models.ForeignKey(
        "contracts.Organisation",
        on_delete=models.CASCADE,
        related_name="tickets",
        db_constraint=False,
        db_index=False,
    )
    source_system = models.CharField(max_length=40)
    external_id = models.CharField(max_length=100)
    title = models.TextField(blank=True, default="")
    kind = models.CharField(max_length=10, choices=Kind.choices, blank=True, default="")
    kind_raw = models.CharField(max_length=200, blank=True, default="")
    priority = models.CharField(max_length=2, blank=True, default="")  # P1–P4, "" = unmapped
    priority_raw = models.CharField(max_length=200, blank=True, default="")
    state = models.CharField(max_length=10, choices=State.choices, blank=True, default="")
    status_raw = models.CharField(max_length=200, blank=True, default="")
    origin = models.CharField(max_length=10, choices=Origin.choices, blank=True, default="")
    origin_raw = models.CharField(max_length=200, blank=True, default="")
    category = models.CharField(max_length=200, blank=True, default="")
    subcategory = models.CharField(max_length=200, blank=True, default="")
    configuration_item = models.CharField(max_length=200, blank=True, default="")
    requester = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField()
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    tier = models.PositiveSmallIntegerField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    reassignment_count = models.PositiveIntegerField(null=True, blank=True)
    reopen_count = models.PositiveIntegerField(null=True, blank=True)
    # [[start, end], ...] ISO 8601 UTC: from a status history (event-log exports).
    paused_intervals = models.JSONField(default=list, blank=True)
    # [[resolved, reopened], ...]: time between a resolution and a reopen, off the resolution clock.
    reopen_gaps = models.JSONField(default=list, blank=True)
    # A total exported by the PSA when it has no history (e.g. ConnectWise waiting minutes).
    paused_minutes = models.FloatField(null=True, blank=True)
    # The kind of time that total counts: "calendar" (wall-clock) or "business" (the tool's
    # business hours); "" without a total (docs/kpis.md, "The clock").
    paused_time = models.CharField(max_length=8, blank=True, default="")
    exclude_from_sla = models.BooleanField(default=False)
    # The PSA's own SLA verdicts when the export carries them (ServiceNow made_sla, Autotask
    # serviceLevelAgreementHasBeenMet, ...): None = not in this export. The raw value is kept
    # as the file spelled it (issue 22: reconciled with the portal's verdicts).
    reported_response_met = models.BooleanField(null=True, blank=True)
    reported_resolution_met = models.BooleanField(null=True, blank=True)
    reported_response_raw = models.CharField(max_length=200, blank=True, default="", db_default="")
    reported_resolution_raw = models.CharField(
        max_length=200, blank=True, default="", db_default=""
    )
    # md5 of the normalised values: a re-import rewrites only tickets whose values changed.
    content_hash = models.CharField(max_length=32)
    import_job = models.ForeignKey(
        "kpis.ImportJob",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    first_imported_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client", "source_system", "external_id"], name="ticket_natural_key"
            )
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.source_system} {self.external_id}"


def import_file_path(instance: ImportJob, filename: str) -> str:
    # A random stored name: the uploaded name is kept in a field and never touches the disk.
    return f"imports/{uuid.uuid4().hex}"


class ImportJob(models.Model):
    """One uploaded export and what became of it: mapping, progress, counts, problems."""

    class Status(models.TextChoices):
        MAPPING = "mapping", "Awaiting mapping"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed"
        # Stopped before storing: its tickets look like another source's (kpis/imports/overlap.py)
        OVERLAP = "overlap", "Waiting for a choice: overlaps another import"
        CANCELLED = "cancelled", "Cancelled"
        UNDONE = "undone", "Undone"

    class OnOverlap(models.TextChoices):
        ASK = "", "Ask"
        IMPORT = "import", "Import anyway"
        REPLACE = "replace", "Replace the other source's tickets for the overlapping dates"

    class Via(models.TextChoices):
        WEB = "web", "Web"
        API = "api", "API"
        COMMAND = "command", "Command"
        SEED = "seed", "Demo seed"

    msp = models.ForeignKey(
        "contracts.Organisation", on_delete=models.PROTECT, related_name="msp_imports"
    )
    # The one client of a single-client import; None when a company column names the clients.
    client = models.ForeignKey(
        "contracts.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="client_imports",
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    via = models.CharField(max_length=10, choices=Via.choices)
    file = models.FileField(upload_to=import_file_path)
    original_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    preset = models.CharField(max_length=30, blank=True, default="")
    mapping = models.JSONField(default=dict, blank=True)
    mapping_name = models.CharField(max_length=100, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.MAPPING)
    phase = models.CharField(max_length=40, blank=True, default="")
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    warnings = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True, default="")
    phase_seconds = models.JSONField(default=dict, blank=True)  # where the time went
    # What to do when its tickets overlap another source's; what the check found (its facts).
    on_overlap = models.CharField(
        max_length=10, choices=OnOverlap.choices, blank=True, default=OnOverlap.ASK
    )
    overlap = models.JSONField(default=dict, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Import {self.pk}: {self.original_name}"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    @property
    def finished(self) -> bool:
        return self.status in {
            self.Status.DONE,
            self.Status.REJECTED,
            self.Status.FAILED,
            self.Status.CANCELLED,
            self.Status.UNDONE,
        }


class ImportUndoRow(models.Model):
    """What an import changed, kept so it can be undone: the stored row of each ticket it
    updated or deleted (replacing another source) as it was before, in one JSON document."""

    class Action(models.TextChoices):
        UPDATED = "updated", "Updated"
        DELETED = "deleted", "Deleted"

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="undo_rows")
    ticket_id = models.BigIntegerField()
    action = models.CharField(max_length=10, choices=Action.choices)
    # {"ticket": the kpis_ticket row as to_jsonb made it, ...}: room for rows that go with a
    # ticket (its status history), restored with it (kpis/imports/undo.py).
    before = models.JSONField()
    # The import that last wrote the ticket before this one: a later import that changed this
    # one's tickets must be undone first.
    before_job_id = models.BigIntegerField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["job", "action"]),
            models.Index(fields=["before_job_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.action} ticket {self.ticket_id} of import {self.job_id}"


class ImportProblem(models.Model):
    """A row, column and value an import could not take as it was, and why."""

    class Severity(models.TextChoices):
        ERROR = "error", "Error: row skipped"
        WARNING = "warning", "Warning: row imported"

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="problems")
    row = models.PositiveIntegerField(null=True, blank=True)  # spreadsheet row; header = 1
    column = models.CharField(max_length=200, blank=True, default="")
    value = models.TextField(blank=True, default="")
    reason = models.TextField()
    severity = models.CharField(max_length=10, choices=Severity.choices)

    class Meta:
        ordering = ["row", "id"]
        indexes = [models.Index(fields=["job", "row"])]

    def __str__(self) -> str:
        return f"row {self.row} {self.column}: {self.reason}"


class SavedMapping(models.Model):
    """A named column and value mapping an MSP reuses for its next export of the same shape.

    Without a client it is the MSP's own, for all its imports, and only the MSP's writers save
    it; with one it was saved by someone else who imports for that client (an advisor) and
    pre-fills that client's imports only, never the MSP's other clients."""

    msp = models.ForeignKey(
        "contracts.Organisation", on_delete=models.CASCADE, related_name="saved_mappings"
    )
    client = models.ForeignKey(
        "contracts.Organisation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty: the MSP's own mapping, for all its clients",
    )
    name = models.CharField(max_length=100)
    preset = models.CharField(max_length=30)
    mapping = models.JSONField(default=dict)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["msp", "name"],
                condition=models.Q(client__isnull=True),
                name="one_mapping_name_per_msp",
            ),
            models.UniqueConstraint(
                fields=["msp", "client", "name"],
                condition=models.Q(client__isnull=False),
                name="one_mapping_name_per_msp_client",
            ),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CompanyRoute(models.Model):
    """Where an MSP's imports send the rows of one company named in a file's company column: a
    client of the MSP, or nowhere (skipped). Remembered from the mapping step, per MSP."""

    msp = models.ForeignKey(
        "contracts.Organisation", on_delete=models.CASCADE, related_name="company_routes"
    )
    company_key = models.CharField(max_length=200)  # kpis.imports.company_routing.company_key
    company = models.CharField(max_length=200)  # as the file last spelled it
    client = models.ForeignKey(
        "contracts.Organisation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty: this company's tickets are skipped",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["msp", "company_key"], name="one_route_per_company")
        ]

    def __str__(self) -> str:
        return self.company


class ImportOutcome(models.Model):
    """What a finished import covered, for its done page: the creation dates of its tickets and
    the client-months it marked for recomputation."""

    job = models.OneToOneField(ImportJob, on_delete=models.CASCADE, related_name="outcome")
    first_created = models.DateTimeField(null=True, blank=True)
    last_created = models.DateTimeField(null=True, blank=True)
    months = models.JSONField(default=list, blank=True)  # [[client_id, "YYYY-MM-01"], ...]

    def __str__(self) -> str:
        return f"outcome of import {self.job_id}"


class RecomputeRequest(models.Model):
    """A client-month whose KPIs are stale after an import; the KPI engine consumes these."""

    client = models.ForeignKey(
        "contracts.Organisation", on_delete=models.CASCADE, related_name="recompute_requests"
    )
    month = models.DateField()  # first day of the month, in the contract's time zone
    requested_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "month"], name="one_request_per_client_month")
        ]

    def __str__(self) -> str:
        return f"{self.client} {self.month:%Y-%m}"


class TicketClock(models.Model):
    """A ticket's SLA clocks as last computed: business seconds, targets, verdicts, and the
    policy version they were measured against. Written by the recompute, read by every page."""

    ticket = models.OneToOneField(
        Ticket,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="clock",
        db_constraint=False,
    )
    client = models.ForeignKey(
        "contracts.Organisation", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    policy_version = models.ForeignKey(
        "contracts.SlaPolicyVersion",
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_constraint=False,
    )
    # The agreed responsibility matrix in force at the ticket's creation (its customer-owned
    # areas decide which tickets get no verdict); null when none was agreed.
    matrix_version = models.ForeignKey(
        "contracts.ResponsibilityMatrixVersion",
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_constraint=False,
    )
    response_seconds = models.BigIntegerField(null=True)
    resolution_seconds = models.BigIntegerField(null=True)
    response_target_seconds = models.BigIntegerField(null=True)
    resolution_target_seconds = models.BigIntegerField(null=True)
    response_verdict = models.CharField(max_length=10, blank=True, default="")
    resolution_verdict = models.CharField(max_length=10, blank=True, default="")
    no_verdict_reason = models.CharField(max_length=60, blank=True, default="")
    # The breach moment (docs/kpis.md): when the running resolution clock reached its target;
    # set only when the resolution verdict is breached. The period a breach counts in.
    resolution_breached_at = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"clock of {self.ticket_id}"


class KpiSnapshot(models.Model):
    """Every KPI of one client and period as computed from stored clocks: values, what each is
    made of (numerator, denominator, tickets) and breakdowns. Pages and reports read these."""

    client = models.ForeignKey(
        "contracts.Organisation", on_delete=models.CASCADE, related_name="kpi_snapshots"
    )
    period_kind = models.CharField(max_length=10)  # month | quarter | year
    period_label = models.CharField(max_length=10)  # 2025-07 | 2025-Q3 | 2025
    period_start = models.DateField()
    values = models.JSONField(default=dict)  # the kpis.md keys → values
    figures = models.JSONField(default=dict)  # key → {numerator, denominator, note}
    breakdowns = models.JSONField(default=dict)  # priority / category / origin → key → value
    # The agreed versions of the rules the period's tickets were judged under:
    # {"sla": [version ids], "matrix": [version ids]} (issue 24: a figure says its rules).
    rules_used = models.JSONField(default=dict)
    # The period's figures as agreed, where accepted disputes change them (disputes/):
    # {"values", "figures", "breakdowns"} as in the measured columns; empty when the agreed
    # figures are the measured ones.
    agreed = models.JSONField(default=dict, db_default={})
    # md5 of the four JSON texts: a recompute rewrites only the snapshots whose content changed.
    content_hash = models.CharField(max_length=32, blank=True, default="")
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client", "period_label"], name="one_snapshot_per_client_period"
            )
        ]
        ordering = ["client", "period_start", "period_kind"]

    def __str__(self) -> str:
        return f"{self.client} {self.period_label}"


class Outage(models.Model):
    """A window in which a monitored service was down; planned maintenance does not count
    against uptime. Imported from CSV (`import_outages`) or entered by hand in the admin."""

    client = models.ForeignKey(
        "contracts.Organisation", on_delete=models.CASCADE, related_name="outages"
    )
    service = models.CharField(max_length=200)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True, help_text="empty while still down")
    planned = models.BooleanField(default=False, help_text="agreed maintenance")
    note = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client", "service", "started_at"], name="one_outage_per_start"
            ),
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True)
                | models.Q(ended_at__gt=models.F("started_at")),
                name="outage_ends_after_it_starts",
            ),
        ]
        ordering = ["client", "service", "started_at"]

    def __str__(self) -> str:
        return f"{self.service} down from {self.started_at:%Y-%m-%d %H:%M}"


class TicketEvent(models.Model):
    """One update of a ticket from an event-log export, kept so the fold can be derived again
    under another policy (docs/kpis.md, "Event logs"): a change of the pause states reaches
    the ticket at the next recompute, with no import. A ticket from a one-row export has none.

    Keyed by (client, ticket, position): one index serves the recompute, which reads a
    client's histories, and the ticket page, which reads one ticket's; no id sequence to feed
    on a five-million-row COPY. The state and status are as in force after the update (an
    update with no status, a comment, keeps the previous one)."""

    pk = models.CompositePrimaryKey("client", "ticket", "position")
    client = models.ForeignKey(
        "contracts.Organisation",
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="events", db_constraint=False, db_index=False
    )
    position = models.PositiveIntegerField()  # 0 for the first update, in time order
    at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=Ticket.State.choices, blank=True, default="")
    status_raw = models.CharField(max_length=200, blank=True, default="")
    assignee = models.CharField(max_length=200, blank=True, default="")
    assignment_group = models.CharField(max_length=200, blank=True, default="")
    updated_by = models.CharField(max_length=200, blank=True, default="")
    tier = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["client", "ticket", "position"]

    def __str__(self) -> str:
        return f"update {self.position} of {self.ticket_id}"
