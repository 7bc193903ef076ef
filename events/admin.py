from django.contrib import admin

from events.models import Event, Registration


class RegistrationInline(admin.TabularInline):
    model = Registration
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("title", "kind", "organiser", "starts_at", "ends_at", "cancelled_at")
    list_filter = ("kind", "organiser")
    date_hierarchy = "starts_at"
    search_fields = ("title", "place", "description")
    raw_id_fields = ("created_by", "topic")
    readonly_fields = ("uid", "reminded_at", "created_at", "updated_at")
    inlines = [RegistrationInline]
