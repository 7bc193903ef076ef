"""Working hours are edited in the admin (the hub admin or a centre's manager with admin access);
dated exceptions also have a page of their own for managers (/worktime/)."""

from django.contrib import admin

from worktime.models import DayException, WorkingCalendar, WorkingPeriod


class WorkingPeriodInline(admin.TabularInline):
    model = WorkingPeriod
    extra = 0


@admin.register(WorkingCalendar)
class WorkingCalendarAdmin(admin.ModelAdmin):
    list_display = ("centre", "time_zone", "public_holidays")
    inlines = [WorkingPeriodInline]


@admin.register(DayException)
class DayExceptionAdmin(admin.ModelAdmin):
    list_display = ("date", "kind", "centre", "name", "created_by")
    list_filter = ("kind", "centre")
    date_hierarchy = "date"
    raw_id_fields = ("created_by",)
