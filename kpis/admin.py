"""Django admin for tickets and imports (read-mostly: tickets change only through imports); an
edit made here, which moves the client's figures, enters the client's audit trail."""

from django.contrib import admin

from contracts.admin_audit import AuditedAdmin

from .models import ImportJob, ImportProblem, Outage, RecomputeRequest, SavedMapping, Ticket


@admin.register(Ticket)
class TicketAdmin(AuditedAdmin):
    list_display = ["external_id", "client", "source_system", "priority", "state", "created_at"]
    list_filter = ["source_system", "priority", "state", "origin", "kind"]
    search_fields = ["external_id", "title"]
    raw_id_fields = ["client", "import_job"]
    date_hierarchy = "created_at"


class ImportProblemInline(admin.TabularInline):
    model = ImportProblem
    extra = 0
    max_num = 0
    readonly_fields = ["row", "column", "value", "reason", "severity"]
    can_delete = False


@admin.register(ImportJob)
class ImportJobAdmin(AuditedAdmin):
    list_display = [
        "pk",
        "original_name",
        "msp",
        "client",
        "status",
        "created",
        "updated",
        "unchanged",
        "rejected",
        "created_at",
    ]
    list_filter = ["status", "via", "preset"]
    raw_id_fields = ["msp", "client", "uploaded_by"]
    inlines = [ImportProblemInline]


@admin.register(SavedMapping)
class SavedMappingAdmin(admin.ModelAdmin):
    list_display = ["name", "msp", "preset", "updated_at"]


@admin.register(RecomputeRequest)
class RecomputeRequestAdmin(admin.ModelAdmin):
    list_display = ["client", "month", "requested_at"]


@admin.register(Outage)
class OutageAdmin(AuditedAdmin):
    """Outages entered by hand; `import_outages` loads them from CSV."""

    list_display = ["service", "client", "started_at", "ended_at", "planned"]
    list_filter = ["planned", "service"]
    raw_id_fields = ["client"]
