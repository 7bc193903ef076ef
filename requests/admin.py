from django.contrib import admin

from requests.models import Attachment, Comment, Ticket, TicketEvent, TicketSequence


class CommentInline(admin.TabularInline):
    model = Comment
    extra = 0
    fields = ("author", "internal", "body", "created_at")
    readonly_fields = ("author", "created_at")


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    fields = ("original_name", "content_type", "size", "internal", "uploaded_by", "created_at")
    readonly_fields = fields


class EventInline(admin.TabularInline):
    """History is append-only: shown, never edited here — nor anywhere (the database refuses it)."""

    model = TicketEvent
    extra = 0
    fields = ("created_at", "actor", "kind", "field", "before", "after", "note", "internal")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ("reference", "title", "status", "priority", "category", "requesting_centre", "target_centre",
                    "assignee", "due_at", "updated_at")
    list_filter = ("status", "priority", "category", "requesting_centre", "target_centre")
    search_fields = ("reference", "title", "search_text")
    raw_id_fields = ("requested_by", "assignee")
    filter_horizontal = ("watchers",)
    readonly_fields = ("reference", "version", "created_at", "updated_at", "accepted_at", "resolved_at",
                       "closed_at", "thread", "origin")
    inlines = [CommentInline, AttachmentInline, EventInline]
    date_hierarchy = "created_at"

    def has_delete_permission(self, request, obj=None):
        return False  # its history is append-only (requests/migrations/0003)


@admin.register(TicketSequence)
class TicketSequenceAdmin(admin.ModelAdmin):
    list_display = ("centre", "year", "last")
    list_filter = ("year",)
