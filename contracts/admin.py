"""Django admin for every model of the contract domain; changes made here enter the audit trail."""

from django.contrib import admin

from msp_portal.jobs import recompute_after_commit

from .admin_audit import AuditedAdmin
from .models import (
    AuditEvent,
    Calendar,
    Commitment,
    CommitmentOccurrence,
    Contract,
    Evidence,
    Membership,
    Organisation,
    ResponsibilityAssignment,
    ResponsibilityMatrixVersion,
    SlaPolicyVersion,
    SlaTarget,
    UptimeTarget,
)


class FixedTermsMixin:
    """Versions of the rules and their terms are shown, never edited here: a change is a new
    version both sides approve in the app (contracts/services/agreement.py), and the database
    refuses an edit anyway. The operator reads them; nobody rewrites what figures used."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organisation)
class OrganisationAdmin(AuditedAdmin):
    list_display = ["name", "slug", "kind", "country", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(AuditedAdmin):
    list_display = ["user", "organisation", "role"]
    list_filter = ["role", "organisation__kind"]
    search_fields = ["user__email", "organisation__name"]
    autocomplete_fields = ["user", "organisation"]


@admin.register(Contract)
class ContractAdmin(AuditedAdmin):
    list_display = ["name", "client", "msp", "advisor", "starts", "ends", "pricing_model"]
    list_filter = ["pricing_model", "msp"]
    search_fields = ["name", "client__name", "msp__name"]
    autocomplete_fields = ["client", "msp", "advisor"]


class SlaTargetInline(FixedTermsMixin, admin.TabularInline):
    model = SlaTarget
    extra = 0


class CalendarInline(FixedTermsMixin, admin.StackedInline):
    model = Calendar
    extra = 0


class UptimeTargetInline(FixedTermsMixin, admin.TabularInline):
    model = UptimeTarget
    extra = 0


@admin.register(SlaPolicyVersion)
class SlaPolicyVersionAdmin(FixedTermsMixin, AuditedAdmin):
    list_display = [
        "contract",
        "effective_from",
        "get_state_display",
        "repeat_window_days",
        "created_at",
    ]
    list_filter = ["contract__client"]
    inlines = [CalendarInline, SlaTargetInline, UptimeTargetInline]


@admin.register(Calendar)
class CalendarAdmin(FixedTermsMixin, AuditedAdmin):
    list_display = ["key", "policy", "is_24x7", "timezone", "holiday_country"]


@admin.register(SlaTarget)
class SlaTargetAdmin(FixedTermsMixin, AuditedAdmin):
    list_display = ["policy", "priority", "response_minutes", "resolution_minutes", "calendar"]


@admin.register(UptimeTarget)
class UptimeTargetAdmin(FixedTermsMixin, AuditedAdmin):
    list_display = ["policy", "service", "target"]


class AssignmentInline(FixedTermsMixin, admin.TabularInline):
    model = ResponsibilityAssignment
    extra = 0


@admin.register(ResponsibilityMatrixVersion)
class MatrixVersionAdmin(FixedTermsMixin, AuditedAdmin):
    list_display = ["contract", "number", "effective_from", "get_state_display", "created_at"]
    inlines = [AssignmentInline]


@admin.register(ResponsibilityAssignment)
class AssignmentAdmin(FixedTermsMixin, AuditedAdmin):
    list_display = ["version", "area", "owner"]
    list_filter = ["owner"]


@admin.register(Commitment)
class CommitmentAdmin(AuditedAdmin):
    list_display = ["name", "contract", "cadence", "owner", "evidence_required", "is_active"]
    list_filter = ["cadence", "owner", "is_active"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # A commitment measured from tool reports is judged again by the reports imported.
        from evidence.measures import measures_refresh  # evidence builds on contracts

        measures_refresh(client_id=obj.contract.client_id)
        recompute_after_commit(obj.contract.client_id)


@admin.register(CommitmentOccurrence)
class OccurrenceAdmin(AuditedAdmin):
    list_display = ["commitment", "period_start", "due_date", "completed_on"]
    list_filter = ["commitment__contract__client"]


@admin.register(Evidence)
class EvidenceAdmin(AuditedAdmin):
    list_display = ["original_name", "occurrence", "content_type", "size", "uploaded_at"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail cannot be edited, not even by an admin."""

    list_display = ["at", "actor", "source", "kind", "action", "object_type", "object_repr"]
    list_filter = ["kind", "source", "action", "object_type"]
    search_fields = ["object_repr"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
