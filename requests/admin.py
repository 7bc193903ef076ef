"""Tickets in the admin are for looking up only (issue 20): a change of status, target,
assignee or text made here would skip the workflow, leave no history line and reach no open page.
Hub admins change tickets in the hub itself (they may make every move of the workflow), where
`requests.services` records and announces each change. Nor are they deleted here: a request's history
is append-only in the database (requests/migrations/0003), so its deletion would be refused."""

from django.contrib import admin

from requests.models import Attachment, Comment, Ticket, TicketEvent, TicketLink, TicketSequence, TicketTemplate


class CommentInline(admin.TabularInline):
    model = Comment
    extra = 0
    fields = ("author", "internal", "internal_to", "body", "created_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    fields = ("original_name", "content_type", "size", "internal", "internal_to", "uploaded_by", "created_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class EventInline(admin.TabularInline):
    """History is append-only: shown, never edited here — nor anywhere (the database refuses it)."""

    model = TicketEvent
    extra = 0
    fields = ("created_at", "actor", "kind", "field", "before", "after", "note", "internal", "internal_to")
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
    fields = ("reference", "title", "description", "category", "priority", "status", "requesting_centre",
              "requested_by", "target_centre", "assignee", "watchers", "first_response_due", "first_response_at",
              "due_at", "sla_paused_at", "sla_response_minutes", "sla_resolution_minutes", "version", "created_at",
              "updated_at", "accepted_at", "resolved_at", "closed_at", "thread", "tlp", "origin", "merged_into")
    readonly_fields = fields  # see the module's docstring
    inlines = [CommentInline, AttachmentInline, EventInline]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False  # requests are made in the hub (they need a reference, a thread, a history)

    def has_delete_permission(self, request, obj=None):
        return False  # its history is append-only (requests/migrations/0003)


@admin.register(TicketSequence)
class TicketSequenceAdmin(admin.ModelAdmin):
    list_display = ("centre", "year", "last")
    list_filter = ("year",)


@admin.register(TicketLink)
class TicketLinkAdmin(admin.ModelAdmin):
    """Looked up only: a link is made and removed in the hub, where both requests' histories say so."""

    list_display = ("ticket", "kind", "to_ticket", "to_alert", "created_by", "created_at")
    list_filter = ("kind",)
    readonly_fields = ("ticket", "kind", "to_ticket", "to_alert", "created_by", "created_at")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TicketTemplate)
class TicketTemplateAdmin(admin.ModelAdmin):
    """A template holds no marked information and no history: hub admins may keep any centre's here
    (a centre's managers keep theirs on /tickets/templates/)."""

    list_display = ("name", "centre", "category", "priority", "target_centre", "updated_at")
    list_filter = ("centre", "category")
    search_fields = ("name", "title")
    readonly_fields = ("created_by", "created_at", "updated_at")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
