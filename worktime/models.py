"""Each centre's working time: its weekly office hours, Vietnam's public holidays, and the dated
exceptions a manager (or the hub admin, for everyone) adds — make-up working Saturdays, extra days
off the government announces.

A centre without a `WorkingCalendar` works the hub's default week (settings.HUB_WORKING_HOURS:
Monday–Friday 07:30–11:30 and 13:30–17:00, Asia/Ho_Chi_Minh) and observes the public holidays.
The arithmetic on these lives in `worktime.calendar` (pure, no database) and is reached through
`worktime.selectors` (`add_working_minutes`, `working_minutes_between`).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from hub.models import Centre


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


def _time_zone_exists(value: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(_("Unknown time zone %(tz)s."), params={"tz": value}) from None


class WorkingCalendar(models.Model):
    """A centre's own working week (its periods) when it differs from the hub's default."""

    centre = models.OneToOneField(Centre, verbose_name=_("centre"), on_delete=models.CASCADE,
                                  related_name="working_calendar")
    time_zone = models.CharField(_("time zone"), max_length=64, default=settings.TIME_ZONE,
                                 validators=[_time_zone_exists])
    public_holidays = models.BooleanField(
        _("observes Vietnam's public holidays"), default=True,
        help_text=_("Tết, Giỗ Tổ Hùng Vương, 30/4, 1/5, Quốc khánh… and the government's make-up working days."),
    )

    class Meta:
        verbose_name = _("working calendar")
        verbose_name_plural = _("working calendars")

    def __str__(self) -> str:
        return str(self.centre)


class WorkingPeriod(models.Model):
    """One stretch of office hours on one weekday (a day may have several: morning, afternoon)."""

    calendar = models.ForeignKey(WorkingCalendar, on_delete=models.CASCADE, related_name="periods")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start = models.TimeField(_("from"))
    end = models.TimeField(_("to"))

    class Meta:
        ordering = ["weekday", "start"]
        verbose_name = _("working period")
        verbose_name_plural = _("working periods")
        constraints = [models.CheckConstraint(condition=Q(end__gt=models.F("start")),
                                              name="worktime_period_ends_after_start")]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"

    def clean(self) -> None:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValidationError({"end": _("A period ends after it starts.")})


class DayException(models.Model):
    """A dated exception to the weekly hours: a make-up working day (e.g. a Saturday worked to
    bridge a holiday) or an extra day off. Without a centre it applies to every centre."""

    class Kind(models.TextChoices):
        WORKING = "working", _("Working day (make-up)")
        DAY_OFF = "day_off", _("Day off")

    centre = models.ForeignKey(Centre, verbose_name=_("centre"), on_delete=models.CASCADE, null=True, blank=True,
                               related_name="day_exceptions", help_text=_("Empty: every centre."))
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("reason"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("working-time exception")
        verbose_name_plural = _("working-time exceptions")
        constraints = [
            models.UniqueConstraint(fields=["centre", "date"], name="worktime_one_exception_per_centre_day"),
            models.UniqueConstraint(fields=["date"], condition=Q(centre__isnull=True),
                                    name="worktime_one_global_exception_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.kind} {self.centre_id or '*'}"
