"""Admin for alerts: for looking up only (issue 20). History rows (timeline entries,
acknowledgements, escalations) are read-only: they are the record of what happened, changed only
through the services, never edited by hand. The timeline is more than read-only here: its table
refuses UPDATE and DELETE in the database itself (hub.lib.migration_ops.append_only), so an alert —
whose deletion would delete its record — cannot be deleted either. And an alert's TLP, text,
severity, scope or status changed here would skip its timeline and reach no open stream — its
audience would change with nobody told — so those are read-only too: alerts are raised and moved
through `alerts.services`, from the hub's pages and API."""

from django.contrib import admin

from alerts.models import Acknowledgement, Alert, AlertEvent, Escalation, Indicator


class IndicatorInline(admin.TabularInline):
    model = Indicator
    extra = 0
    fields = ("position", "type", "value", "algorithm")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AcknowledgementInline(ReadOnlyInline):
    model = Acknowledgement
    fields = ("centre", "user", "at")
    readonly_fields = fields


class EscalationInline(ReadOnlyInline):
    model = Escalation
    fields = ("centre", "step", "at", "notified")
    readonly_fields = fields


class AlertEventInline(ReadOnlyInline):
    model = AlertEvent
    fk_name = "alert"
    fields = ("kind", "actor", "centre", "before", "after", "note", "text", "corrects", "at")
    readonly_fields = fields


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "severity", "tlp", "status", "centre", "raised_by", "created_at")
    list_filter = ("severity", "tlp", "status", "centre")
    search_fields = ("title", "search_text", "indicators__value")
    date_hierarchy = "created_at"
    inlines = [IndicatorInline, AcknowledgementInline, EscalationInline, AlertEventInline]

    def get_readonly_fields(self, request, obj=None):
        """Every field (see the module's docstring)."""
        return [f.name for f in self.model._meta.get_fields() if f.concrete and not f.auto_created]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # its timeline is append-only


@admin.register(Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    list_display = ("type", "value", "algorithm", "alert")
    list_filter = ("type",)
    search_fields = ("value",)
    readonly_fields = ("alert", "position", "type", "value", "algorithm")

    def has_add_permission(self, request):
        return False


@admin.register(Acknowledgement)
class AcknowledgementAdmin(admin.ModelAdmin):
    list_display = ("alert", "centre", "user", "at")
    list_filter = ("centre",)
    readonly_fields = ("alert", "centre", "user", "at")


@admin.register(Escalation)
class EscalationAdmin(admin.ModelAdmin):
    list_display = ("alert", "centre", "step", "at", "notified")
    list_filter = ("centre", "step")
    readonly_fields = ("alert", "centre", "step", "at", "notified")


@admin.register(AlertEvent)
class AlertEventAdmin(admin.ModelAdmin):
    """Timeline entries: shown, never added, changed or deleted here (nor anywhere: append-only)."""

    list_display = ("alert", "kind", "actor", "centre", "before", "after", "corrects", "at")
    list_filter = ("kind",)
    readonly_fields = ("alert", "kind", "actor", "centre", "before", "after", "note", "text", "corrects", "data",
                       "at")
    exclude = ("html",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
