"""The audit trail in words: field names as the models name them, values as people read them,
an SLA version's targets as a table beside the previous version's, a matrix version area by area.
The page and the CSV export read the same lines, so the two never disagree."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist

from msp_portal.units import duration

from .models import AuditEvent, ResponsibilityAssignment, SlaTarget

PRIORITIES = dict(SlaTarget.Priority.choices)
OWNERS = dict(ResponsibilityAssignment.Owner.choices)
# Parts of a version's content that are not columns of its model.
LABELS = {
    "targets": "SLA targets",
    "calendars": "Calendars",
    "uptime": "Uptime targets",
    "assignments": "Areas",
}
TABLES = ("targets", "assignments")


@dataclass
class Line:
    """One field's change: its name in words and its whole value before and after."""

    label: str
    before: str
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass
class SlaRow:
    """One priority's targets in the previous version and in this one."""

    priority: str
    response: tuple[str, str]
    resolution: tuple[str, str]
    calendar: tuple[str, str]

    @property
    def changed(self) -> bool:
        return any(a != b for a, b in (self.response, self.resolution, self.calendar))


@dataclass
class AreaRow:
    """One area of the matrix in the previous version and in this one."""

    area: str
    owner: tuple[str, str]
    split: tuple[str, str]
    categories: tuple[str, str]
    status: str  # added, removed, changed, unchanged


@dataclass
class EventView:
    """An audit event as the trail shows it."""

    event: AuditEvent
    lines: list[Line] = field(default_factory=list)
    sla_rows: list[SlaRow] = field(default_factory=list)
    area_rows: list[AreaRow] = field(default_factory=list)

    @property
    def areas_changed(self) -> list[AreaRow]:
        return [a for a in self.area_rows if a.status != "unchanged"]

    @property
    def areas_unchanged(self) -> list[str]:
        return [a.area for a in self.area_rows if a.status == "unchanged"]

    @property
    def what(self) -> str:
        event = self.event
        action = event.action.split()
        # "undo import" of an "import job" reads "Undo import job", not "Undo import import job".
        if len(action) > 1 and event.object_type.startswith(action[-1]):
            action = action[:-1]
        return f"{' '.join(action).capitalize()} {event.object_type}: {event.object_repr}"

    def csv_lines(self) -> list[Line]:
        """Every change as a line, the tables' cells included (one per priority or area part);
        the parts a new version kept as they were are left out."""
        lines = [line for line in self.lines if line.changed]
        for row in self.sla_rows:
            for part, pair in (
                ("response", row.response),
                ("resolution", row.resolution),
                ("calendar", row.calendar),
            ):
                if pair[0] != pair[1]:
                    lines.append(Line(f"{row.priority} {part}", *pair))
        for area in self.area_rows:
            for part, pair in (
                ("owner", area.owner),
                ("split", area.split),
                ("categories", area.categories),
            ):
                if pair[0] != pair[1]:
                    lines.append(Line(f"{area.area}: {part}", *pair))
        return lines


def words(value) -> str:
    """A stored value as text for people: lists joined, mappings as "name: value", yes/no."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        joiner = "; " if any(isinstance(v, dict | list) for v in value) else ", "
        return joiner.join(words(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{str(k).replace('_', ' ')}: {words(v)}" for k, v in value.items())
    return str(value)


def _field(model, name: str):
    if model is None:
        return None
    try:
        found = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    # A version's "targets" or "calendars" are its content, not the reverse relation's name.
    return found if found.concrete else None


def _line(model, name: str, pair) -> Line:
    """A field's change, named by its verbose name, choice values by their labels."""
    model_field = _field(model, name)
    label = LABELS.get(name) or (
        str(model_field.verbose_name) if model_field is not None else name.replace("_", " ")
    )
    choices = dict(model_field.flatchoices) if model_field is not None else {}
    # A change is [before, after]; a bare value (a log-in's address) is a fact, with no before.
    before, after = pair if isinstance(pair, list) and len(pair) == 2 else (None, pair)
    texts = [choices.get(v, words(v)) if isinstance(v, str) else words(v) for v in (before, after)]
    return Line(label[:1].upper() + label[1:], *texts)


def _minutes(target: dict | None, key: str) -> str:
    return duration(target[key]) if target and target.get(key) is not None else ""


def sla_rows(before: dict | None, after: dict | None) -> list[SlaRow]:
    """Targets per priority, previous version beside this one."""
    before, after = before or {}, after or {}
    rows = []
    for priority in sorted(set(before) | set(after)):
        old, new = before.get(priority), after.get(priority)
        rows.append(
            SlaRow(
                PRIORITIES.get(priority, priority),
                (_minutes(old, "response_minutes"), _minutes(new, "response_minutes")),
                (_minutes(old, "resolution_minutes"), _minutes(new, "resolution_minutes")),
                ((old or {}).get("calendar", ""), (new or {}).get("calendar", "")),
            )
        )
    return rows


def area_rows(before: dict | None, after: dict | None) -> list[AreaRow]:
    """The matrix area by area, previous version beside this one, in this version's order."""
    before, after = before or {}, after or {}
    rows = []
    for area in [*after, *(a for a in before if a not in after)]:
        old, new = before.get(area) or {}, after.get(area) or {}
        pairs = [
            (OWNERS.get(old.get("owner"), ""), OWNERS.get(new.get("owner"), "")),
            (old.get("split") or "", new.get("split") or ""),
            (words(old.get("categories")), words(new.get("categories"))),
        ]
        if not old:
            status = "added"
        elif not new:
            status = "removed"
        else:
            status = "changed" if any(a != b for a, b in pairs) else "unchanged"
        rows.append(AreaRow(area, *pairs, status=status))
    return rows


def event_view(event: AuditEvent) -> EventView:
    """The event's changes in words, its tables drawn from the parts that are tables."""
    try:
        model = apps.get_model(event.object_model) if event.object_model else None
    except LookupError:
        model = None
    view = EventView(event)
    for name, pair in (event.changes or {}).items():
        is_pair = isinstance(pair, list) and len(pair) == 2
        if name in TABLES and is_pair and all(isinstance(p, dict | None) for p in pair):
            if name == "targets":
                view.sla_rows = sla_rows(*pair)
            else:
                view.area_rows = area_rows(*pair)
            continue
        view.lines.append(_line(model, name, pair))
    return view
