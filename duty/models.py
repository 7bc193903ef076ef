"""Each centre's duty roster: who is the on-duty security officer (and their deputy) when.

A `Shift` is one stretch of duty at one centre — a day, a night, a weekend — with its officer and
deputy. Shifts of one centre never overlap (`duty.services` refuses it), so at any moment a centre
has at most one person on duty (`duty.selectors.on_duty`). The officer confirms "on duty" when the
shift starts (`confirmed_at`; later confirmations are heartbeats, `last_seen_at`). The `*_at`
bookkeeping columns make the periodic job's reminders happen once each (conditional updates).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hub.models import Centre


def new_uid() -> str:
    return f"{uuid.uuid4()}@duty.hub"


class Shift(models.Model):
    centre = models.ForeignKey(Centre, verbose_name=_("centre"), on_delete=models.CASCADE, related_name="duty_shifts")
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("on-duty officer"), on_delete=models.PROTECT,
                                related_name="duty_shifts")
    deputy = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("deputy"), on_delete=models.PROTECT,
                               null=True, blank=True, related_name="deputy_shifts")
    note = models.CharField(_("note"), max_length=200, blank=True)
    # The iCalendar UID: an exported shift imported again updates itself instead of duplicating.
    uid = models.CharField(max_length=255, unique=True, default=new_uid, editable=False)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    last_seen_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    # Done once each by the `duty.watch` job (hub/jobs.py).
    start_announced_at = models.DateTimeField(null=True, blank=True, editable=False)
    end_announced_at = models.DateTimeField(null=True, blank=True, editable=False)
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    unconfirmed_reported_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["centre", "starts_at"]
        verbose_name = _("duty shift")
        verbose_name_plural = _("duty shifts")
        indexes = [models.Index(fields=["centre", "starts_at"]), models.Index(fields=["ends_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="duty_shift_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.centre_id} {self.starts_at:%Y-%m-%d %H:%M} {self.officer_id}"
