"""Admin for notifications: the email outbox and delivery log, inbound mail, webhooks and their
deliveries. Logs are read-only (they are the record of what left and arrived); an email or a delivery
that failed can be queued again with an action."""

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from notify.models import (
    AlertNotice,
    Email,
    InboundEmail,
    Notification,
    NotifySettings,
    Preference,
    TopicSetting,
    Webhook,
    WebhookDelivery,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Email)
class EmailAdmin(ReadOnlyAdmin):
    list_display = ("id", "type", "user", "to_address", "subject", "status", "attempts", "created_at", "sent_at")
    list_filter = ("status", "type")
    search_fields = ("to_address", "subject", "user__username")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Email._meta.fields]
    actions = ["retry"]

    def get_fields(self, request, obj=None):
        """An email about a direct conversation keeps its text out of the admin: hub admins read a
        conversation they are not in only through the audited export (docs/chat.md)."""
        fields = list(super().get_fields(request, obj))
        if obj is not None and obj.notifications.filter(message__topic__kind="direct").exists():
            fields = [f for f in fields if f != "text"]
        return fields

    @admin.action(description=_("Send again now"))
    def retry(self, request, queryset):
        queryset.exclude(status=Email.Status.SENT).update(status=Email.Status.PENDING, not_before=timezone.now(),
                                                          attempts=0)


@admin.register(InboundEmail)
class InboundEmailAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "recipient", "header_from", "subject", "outcome", "reason", "ticket")
    list_filter = ("outcome",)
    search_fields = ("recipient", "header_from", "subject")
    readonly_fields = [f.name for f in InboundEmail._meta.fields]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "type", "verb", "channel", "created_at", "seen_at", "email")
    list_filter = ("type", "channel")
    search_fields = ("user__username",)
    readonly_fields = [f.name for f in Notification._meta.fields]


@admin.register(AlertNotice)
class AlertNoticeAdmin(ReadOnlyAdmin):
    """Raised alerts waiting for their notifications to be written (expanded_at empty), and when
    each was (the job `notify.alerts`)."""

    list_display = ("id", "alert", "created_at", "expanded_at", "notified")
    readonly_fields = [f.name for f in AlertNotice._meta.fields]


@admin.register(NotifySettings)
class NotifySettingsAdmin(admin.ModelAdmin):
    list_display = ("user", "quiet_hours", "work_start", "work_end", "digest", "digest_sent_at")
    list_filter = ("digest", "quiet_hours")
    search_fields = ("user__username",)


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "channel")
    list_filter = ("kind", "channel")
    search_fields = ("user__username",)


@admin.register(TopicSetting)
class TopicSettingAdmin(admin.ModelAdmin):
    list_display = ("user", "topic", "level")
    search_fields = ("user__username", "topic__slug")


class DeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    extra = 0
    can_delete = False
    fields = ("id", "event", "status", "attempts", "response_status", "duration_ms", "last_error", "created_at",
              "delivered_at")
    readonly_fields = fields
    ordering = ("-id",)

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-id")


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ("id", "centre", "name", "url", "events", "max_tlp", "active", "created_by", "created_at")
    list_filter = ("active", "centre", "max_tlp")
    search_fields = ("url", "name")
    filter_horizontal = ("topics",)
    exclude = ("secret",)  # shown once to the manager who registered it; never in a list
    inlines = [DeliveryInline]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("id", "webhook", "event", "status", "attempts", "response_status", "duration_ms", "created_at",
                    "delivered_at")
    list_filter = ("status", "event")
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["retry"]

    @admin.action(description=_("Deliver again now"))
    def retry(self, request, queryset):
        queryset.exclude(status=WebhookDelivery.Status.DELIVERED).update(
            status=WebhookDelivery.Status.PENDING, not_before=timezone.now(), attempts=0)
