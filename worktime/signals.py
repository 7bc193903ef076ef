"""A working calendar or exception saved in this process is used at once (the cache is cleared)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from worktime.models import DayException, WorkingCalendar, WorkingPeriod


@receiver([post_save, post_delete], sender=WorkingCalendar)
@receiver([post_save, post_delete], sender=WorkingPeriod)
@receiver([post_save, post_delete], sender=DayException)
def calendar_changed(sender, **kwargs) -> None:
    from worktime.selectors import clear_cache

    clear_cache()
