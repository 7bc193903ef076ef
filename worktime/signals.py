"""A working calendar or exception saved in this process is used at once (the cache is cleared), and
once the change commits, `working_time_changed` tells who depends on it (the requests app recomputes
the due times of the open requests whose clocks run in that calendar: docs/tickets.md).

Several rows saved in one transaction (the admin's calendar with its periods) send the signal once,
after the commit, naming every centre touched; a rolled-back change sends nothing.
"""

from __future__ import annotations

import threading
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal, receiver

from worktime.models import DayException, WorkingCalendar, WorkingPeriod

# Sent after commit with `centres`: a frozenset of centre ids whose working time changed; None in it
# means the shared calendar (an exception for every centre), which every centre's time depends on.
working_time_changed = Signal()

_pending = threading.local()


_UNKNOWN = object()


def _centre_of(sender: type, instance: Any) -> object:
    if sender is WorkingPeriod:
        found = WorkingCalendar.objects.filter(pk=instance.calendar_id).values_list("centre_id", flat=True).first()
        return _UNKNOWN if found is None else found
    return instance.centre_id


def _flush() -> None:
    from worktime.selectors import clear_cache

    centres = frozenset(getattr(_pending, "centres", None) or ())
    _pending.centres = None
    clear_cache()  # what the receivers read is the committed calendar
    if centres:
        working_time_changed.send(sender=WorkingCalendar, centres=centres)


def _queue(centre_id: object) -> None:
    from django.db import connection

    waiting = any(entry[1] is _flush for entry in connection.run_on_commit)
    if not waiting or getattr(_pending, "centres", None) is None:
        _pending.centres = set()  # a rolled-back transaction's pending set is dropped with its callback
        _pending.centres.add(centre_id)
        transaction.on_commit(_flush)  # in autocommit: at once
        return
    _pending.centres.add(centre_id)


@receiver([post_save, post_delete], sender=WorkingCalendar)
@receiver([post_save, post_delete], sender=WorkingPeriod)
@receiver([post_save, post_delete], sender=DayException)
def calendar_changed(sender, instance=None, **kwargs) -> None:
    from worktime.selectors import clear_cache

    clear_cache()
    if instance is None:
        return
    centre_id = _centre_of(sender, instance)
    if centre_id is not _UNKNOWN:  # a period whose calendar is gone with it: the calendar's own signal counts
        _queue(centre_id)
