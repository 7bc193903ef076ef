"""The MOU's events calendar: workshops, training courses and conferences the centres run together.

An `Event` is organised by one centre and open to every centre of the MOU (what is on and who goes is
not a secret among them: no TLP, every signed-in person reads every event). A `Registration` is one
person attending; the registrations grouped by the person's centre are "who attends" per centre.
`reminded_at` makes the day-before reminder happen once (a conditional UPDATE claims it).
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
    return f"{uuid.uuid4()}@events.hub"


class Event(models.Model):
    class Kind(models.TextChoices):
        WORKSHOP = "workshop", _("Workshop")
        TRAINING = "training", _("Training course")
        CONFERENCE = "conference", _("Conference")
        MEETING = "meeting", _("Meeting")
        OTHER = "other", _("Other")

    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.WORKSHOP)
    organiser = models.ForeignKey(Centre, verbose_name=_("organising centre"), on_delete=models.PROTECT,
                                  related_name="organised_events")
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    place = models.CharField(_("place"), max_length=300, blank=True)
    online_url = models.URLField(_("online link"), max_length=500, blank=True)
    description = models.TextField(_("description"), blank=True)
    topic = models.ForeignKey("chat.Topic", verbose_name=_("topic"), on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    uid = models.CharField(max_length=255, unique=True, default=new_uid, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    # Done once by the `events.remind` job (hub/jobs.py).
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["starts_at", "id"]
        verbose_name = _("event")
        verbose_name_plural = _("events")
        indexes = [models.Index(fields=["starts_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="events_event_ends_after_start"),
        ]

    def __str__(self) -> str:
        return self.title


class Registration(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="registrations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="event_registrations")
    # The person's centre when they registered: "who attends from each centre" stays true if they move.
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["event", "centre", "created_at"]
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        constraints = [models.UniqueConstraint(fields=["event", "user"], name="events_register_once")]

    def __str__(self) -> str:
        return f"{self.event_id} {self.user_id}"
