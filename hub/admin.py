from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from hub.models import ApiToken, Centre, PeriodicJob, User

# The admin's own title in the viewer's language (it said "Django administration" — issue 23).
admin.site.site_header = _("Inter-Centre Hub administration")
admin.site.site_title = _("Inter-Centre Hub")
admin.site.index_title = _("Centres, people, topics and records")


@admin.register(Centre)
class CentreAdmin(admin.ModelAdmin):
    list_display = ("code", "name_vi", "name_en", "province", "kind", "is_mou_member")
    list_filter = ("kind", "is_mou_member")
    search_fields = ("code", "name_vi", "name_en", "province")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "display_name", "centre", "role", "is_active", "last_login")
    list_filter = ("centre", "role", "is_active", "is_superuser")
    search_fields = ("username", "display_name", "first_name", "last_name", "email")
    fieldsets = (*(DjangoUserAdmin.fieldsets or ()),
                 (_("Hub"), {"fields": ("centre", "role", "display_name", "language")}))
    add_fieldsets = (*DjangoUserAdmin.add_fieldsets, (_("Hub"), {"fields": ("centre", "role", "display_name")}))
    actions = ["end_sessions"]

    @admin.action(description=_("Sign out everywhere (end all their sessions)"))
    def end_sessions(self, request, queryset):
        """Their browsers are signed out and the sockets those sessions opened close (4401)."""
        from hub.services import end_sessions

        ended = sum(end_sessions(user) for user in queryset)
        self.message_user(request, _("%(n)s session(s) ended.") % {"n": ended})


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("user__username", "prefix", "name")
    readonly_fields = ("prefix", "key_hash", "created_at", "last_used_at")
    actions = ["revoke"]

    def has_add_permission(self, request):  # raw keys are shown once: issue them with the command
        return False

    @admin.action(description=_("Revoke selected tokens"))
    def revoke(self, request, queryset):
        from hub.services import revoke_tokens

        revoke_tokens(queryset)


@admin.register(PeriodicJob)
class PeriodicJobAdmin(admin.ModelAdmin):
    """The periodic jobs (hub/jobs.py): when each ran, how long it took, its last error."""

    list_display = ("name", "next_run_at", "last_started_at", "last_duration_ms", "runs", "failures", "locked_by")
    readonly_fields = ("name", "next_run_at", "locked_until", "locked_by", "last_started_at", "last_finished_at",
                       "last_duration_ms", "last_error", "runs", "failures")
    actions = ["run_now"]

    def has_add_permission(self, request):  # jobs are registered by code (hub.jobs.periodic)
        return False

    @admin.action(description=_("Run the selected jobs at the next tick"))
    def run_now(self, request, queryset):
        from hub.jobs import force_due

        force_due(*queryset.values_list("name", flat=True))
