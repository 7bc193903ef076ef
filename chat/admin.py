"""Hub admins manage topics here (topics are data); messages are visible read-only for audit."""

from django.contrib import admin

from chat.models import Message, MessageRevision, Topic


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ("slug", "name_vi", "name_en", "kind", "created_at")
    list_filter = ("kind",)
    search_fields = ("slug", "name_vi", "name_en")
    filter_horizontal = ("allowed_centres",)


class RevisionInline(admin.TabularInline):
    model = MessageRevision
    extra = 0
    can_delete = False
    readonly_fields = ("action", "body", "changed_by", "changed_at")
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("id", "topic", "author", "created_at", "edited_at", "deleted_at")
    list_filter = ("topic",)
    search_fields = ("body",)
    readonly_fields = ("topic", "author", "body", "html", "client_id", "created_at", "edited_at", "deleted_at",
                       "audience", "tlp", "shared_with", "promoted_to")
    exclude = ("audience_centres", "audience_roles", "audience_users", "search_text")
    inlines = [RevisionInline]

    def has_add_permission(self, request):
        return False
