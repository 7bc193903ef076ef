"""Hub admins manage topics here (topics are data); messages are visible read-only for audit.

Direct conversations (kind `direct`) and their messages are left out entirely: hub admins read a
conversation they are not in only through `manage.py export_conversation`, which writes an audit
record (listed here, read-only, as "conversation exports")."""

from django.contrib import admin

from chat.models import ConversationExport, Message, MessageRevision, Topic
from chat.services import delete_topic, topic_saved


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ("slug", "name_vi", "name_en", "kind", "created_at")
    list_filter = ("kind",)
    search_fields = ("slug", "name_vi", "name_en")
    filter_horizontal = ("allowed_centres",)

    def get_queryset(self, request):
        return super().get_queryset(request).exclude(kind=Topic.Kind.DIRECT)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)  # the allowed centres are saved here
        if change:
            topic_saved(form.instance, changed=form.changed_data, slug_before=form.initial.get("slug", ""))

    def delete_model(self, request, obj):
        delete_topic(obj)

    def delete_queryset(self, request, queryset):
        for topic in queryset:
            delete_topic(topic)


@admin.register(ConversationExport)
class ConversationExportAdmin(admin.ModelAdmin):
    """The audit trail of conversation exports: read-only (the command writes it)."""

    list_display = ("id", "topic", "exported_by", "exported_at", "messages", "reason")
    readonly_fields = ("topic", "exported_by", "reason", "messages", "sha256", "exported_at")

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).exclude(topic__kind=Topic.Kind.DIRECT)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
    list_filter = (("topic", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("body",)
    readonly_fields = ("topic", "author", "body", "html", "client_id", "created_at", "edited_at", "deleted_at",
                       "audience", "tlp", "shared_with", "promoted_to")
    exclude = ("audience_centres", "audience_roles", "audience_users", "search_text")
    inlines = [RevisionInline]

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).exclude(topic__kind=Topic.Kind.DIRECT)
