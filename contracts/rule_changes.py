"""What each version of the rules says and what a proposal would change, shaped for the page of
rule changes: SLA targets per priority and matrix areas as before → after rows, in words."""

from __future__ import annotations

from dataclasses import dataclass, field

from contracts.models import Contract, ResponsibilityMatrixVersion, SlaPolicyVersion
from contracts.models.agreement import Agreed
from contracts.services.agreement import matrix_refusals, results_words
from msp_portal.units import duration


@dataclass
class Row:
    """One line of a diff: what it is, before and after (None: absent on that side)."""

    label: str
    before: str | None
    after: str | None

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass
class VersionView:
    version: Agreed
    kind: str  # "sla" | "matrix"
    title: str
    compared_with: Agreed | None
    rows: list[Row] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)

    @property
    def changes(self) -> list[Row]:
        return [row for row in self.rows if row.changed]

    @property
    def results_changed(self) -> str:
        changed = self.version.changes_results or {}
        return results_words(changed) if changed.get("tickets") else ""


def _calendar_words(calendar) -> str:
    if calendar.is_24x7:
        return "around the clock"
    hours = "; ".join(f"{day} {windows}" for day, windows in calendar.describe_hours())
    holidays = calendar.holiday_country or "no"
    if calendar.holiday_subdivision:
        holidays += f"-{calendar.holiday_subdivision}"
    extra = f" plus {', '.join(calendar.extra_holidays)}" if calendar.extra_holidays else ""
    return f"{hours} ({calendar.timezone}); {holidays} public holidays{extra}"


def sla_rows(version: SlaPolicyVersion | None) -> dict[str, str]:
    """Each term of an SLA version in words, keyed by what a reader compares."""
    if version is None:
        return {}
    calendars = {c.pk: c for c in version.calendars.all()}
    rows = {}
    for target in version.targets.all():
        calendar = calendars[target.calendar_id]
        runs = "24x7" if calendar.is_24x7 else f"{calendar.key} hours"
        name = target.get_priority_display()
        rows[f"{name}: response"] = f"{duration(target.response_minutes)} ({runs})"
        rows[f"{name}: resolution"] = f"{duration(target.resolution_minutes)} ({runs})"
    rows["Resolution clock pauses in"] = ", ".join(version.pause_states) or "no state"
    rows["Repeat-incident window"] = f"{version.repeat_window_days} days"
    for calendar in calendars.values():
        rows[f"Calendar “{calendar.key}”"] = _calendar_words(calendar)
    for uptime in version.uptime_targets.all():
        rows[f"Uptime of {uptime.service}"] = (
            f"{uptime.target * 100:.3f}".rstrip("0").rstrip(".") + "%"
        )
    return rows


def matrix_rows(version: ResponsibilityMatrixVersion | None) -> dict[str, str]:
    if version is None:
        return {}
    rows = {}
    for area in version.assignments.all():
        words = area.get_owner_display()
        if area.owner == "shared":
            words += f": {area.split or 'split not written down'}"
        if area.categories:
            words += f" · ticket categories: {', '.join(area.categories)}"
        rows[area.area] = words
    return rows


def _diff(before: dict[str, str], after: dict[str, str]) -> list[Row]:
    labels = list(before) + [label for label in after if label not in before]
    return [Row(label, before.get(label), after.get(label)) for label in labels]


def _view(version: Agreed, contract: Contract) -> VersionView:
    if isinstance(version, SlaPolicyVersion):
        compared = contract.current_policy(on=version.effective_from)
        if compared is not None and compared.pk == version.pk:
            compared = None
        title = f"SLA from {version.effective_from:%-d %b %Y}"
        rows = _diff(sla_rows(compared), sla_rows(version))
        return VersionView(version, "sla", title, compared, rows)
    compared = contract.matrix_in_force(on=version.effective_from)
    if compared is not None and compared.pk == version.pk:
        compared = None
    title = (
        f"Responsibility matrix version {version.number}, from {version.effective_from:%-d %b %Y}"
    )
    rows = _diff(matrix_rows(compared), matrix_rows(version))
    return VersionView(version, "matrix", title, compared, rows, matrix_refusals(version))


def rule_changes(contract: Contract) -> tuple[list[VersionView], list[VersionView]]:
    """(proposals waiting for approval, every other version newest first) of both kinds."""
    related = ("created_by", "client_approved_by", "msp_approved_by", "withdrawn_by")
    versions: list[Agreed] = [
        *SlaPolicyVersion.objects.filter(contract=contract)
        .select_related(*related)
        .prefetch_related("targets", "calendars", "uptime_targets"),
        *ResponsibilityMatrixVersion.objects.filter(contract=contract)
        .select_related(*related)
        .prefetch_related("assignments"),
    ]
    versions.sort(key=lambda v: v.created_at, reverse=True)
    pending = [_view(v, contract) for v in versions if v.state == "proposed"]
    history = [_summary(v) for v in versions if v.state != "proposed"]
    return pending, history


def _summary(version: Agreed) -> VersionView:
    """A version of the history: its title and state, without the diff."""
    if isinstance(version, SlaPolicyVersion):
        return VersionView(version, "sla", f"SLA from {version.effective_from:%-d %b %Y}", None)
    title = (
        f"Responsibility matrix version {version.number}, from {version.effective_from:%-d %b %Y}"
    )
    return VersionView(version, "matrix", title, None)


def pending_count(contract: Contract) -> int:
    return sum(
        model.objects.filter(Agreed.pending_q(), contract=contract).count()
        for model in (SlaPolicyVersion, ResponsibilityMatrixVersion)
    )
