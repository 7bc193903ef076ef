from django.contrib import admin

from duty.models import Shift


@admin.register(Shift)
class ShiftAdmin(admin.ModelAdmin):
    list_display = ("centre", "starts_at", "ends_at", "officer", "deputy", "confirmed_at")
    list_filter = ("centre",)
    date_hierarchy = "starts_at"
    search_fields = ("officer__username", "deputy__username", "note")
    raw_id_fields = ("officer", "deputy", "created_by")
    readonly_fields = ("uid", "confirmed_at", "last_seen_at", "created_at", "updated_at")
