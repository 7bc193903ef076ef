"""Admin for alerts: for looking up and deleting only (issue 20). History rows (events,
acknowledgements, escalations) are the record of what happened; and an alert's TLP, text, severity or
status changed here would skip its history and reach no open stream — its audience would change with
nobody told. Alerts are raised and moved through `alerts.services`, from the hub's pages and API."""

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
    fields = ("kind", "actor", "centre", "before", "after", "note", "at")
    readonly_fields = fields


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "severity", "tlp", "status", "centre", "raised_by", "created_at")
    list_filter = ("severity", "tlp", "status", "centre")
    search_fields = ("title", "search_text", "indicators__value")
    date_hierarchy = "created_at"
    fields = ("title", "severity", "tlp", "status", "centre", "raised_by", "shared_with", "affected_systems",
              "description", "recommended_actions", "created_at", "updated_at")
    readonly_fields = fields  # see the module's docstring
    inlines = [IndicatorInline, AcknowledgementInline, EscalationInline, AlertEventInline]

    def has_add_permission(self, request):
        return False


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
    list_display = ("alert", "kind", "actor", "centre", "before", "after", "at")
    list_filter = ("kind",)
    readonly_fields = ("alert", "kind", "actor", "centre", "before", "after", "note", "at")
