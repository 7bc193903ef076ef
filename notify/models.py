"""Reaching people who are not looking: what each person wants to be told and how, what the hub
owes them (their notifications), the mail it sends, and the centres' webhooks.

Two records, deliberately apart:
- `Notification` is the in-hub record of "this concerns you" (a mention, a change to a request you
  are involved in, an alert for your role). It is written in the same transaction as the event, so it
  exists whatever happens to email; the bell reads it and it is marked seen when the person looks.
- `Email` is the outbox and the delivery log. A row names its recipient and what it is about; the
  worker decides at delivery, from the person's *current* rights, what goes in it (docs/notifications.md).
"""

from __future__ import annotations

import secrets
from datetime import time

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Channel(models.TextChoices):
    """How a person wants to hear of one kind of event."""

    HUB = "hub", _("In the hub only")
    BROWSER = "browser", _("Browser notification")
    EMAIL = "email", _("Email at once")
    DIGEST = "digest", _("Email digest")
    OFF = "off", _("Not at all")


class Kind(models.TextChoices):
    """The kinds of event a person sets a channel for (alerts by severity)."""

    ALERT_CRITICAL = "alert_critical", _("Critical alerts")
    ALERT_HIGH = "alert_high", _("High alerts")
    ALERT_MEDIUM = "alert_medium", _("Medium alerts")
    ALERT_LOW = "alert_low", _("Low alerts")
    ESCALATION = "escalation", _("Escalations of unacknowledged alerts")
    MENTION = "mention", _("Mentions and replies to me")
    TICKET = "ticket", _("Changes to requests I am involved in or watch")
    EVENT = "event", _("Reminders of events I registered for")


class Digest(models.TextChoices):
    OFF = "off", _("No digest")
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly (Mondays)")


def default_work_days() -> list[int]:
    return [0, 1, 2, 3, 4]  # Monday to Friday (datetime.weekday())


class NotifySettings(models.Model):
    """One person's mail settings: working hours (quiet hours are outside them) and digest. Their
    language is `User.language`, the one preference the language switch, the API and sockets share."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notify_settings")
    quiet_hours = models.BooleanField(
        _("quiet hours"), default=True,
        help_text=_("Hold email outside my working hours (critical alerts still come at once)."),
    )
    # False: the working time of the person's centre (worktime/: its week, Vietnam's holidays and
    # make-up days, the centre's exceptions); True: the hours and days below.
    own_hours = models.BooleanField(_("my own working hours"), default=False)
    work_start = models.TimeField(_("working day starts"), default=time(7, 30))
    work_end = models.TimeField(_("working day ends"), default=time(17, 0))
    work_days = models.JSONField(_("working days"), default=default_work_days)
    digest = models.CharField(_("digest"), max_length=10, choices=Digest.choices, default=Digest.OFF)
    digest_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")

    def __str__(self) -> str:
        return f"{self.user_id}"


class Preference(models.Model):
    """A person's chosen channel for one kind of event; no row means their role's default
    (`notify.preferences.DEFAULTS`)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notify_preferences")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notify_one_preference_per_kind")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}={self.channel}"


class TopicLevel(models.TextChoices):
    ALL = "all", _("Everything")
    MENTIONS = "mentions", _("Only mentions of me")
    MUTE = "mute", _("Muted")


class TopicSetting(models.Model):
    """A topic muted, or followed for mentions only (no row: everything)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    topic = models.ForeignKey("chat.Topic", on_delete=models.CASCADE, related_name="+")
    level = models.CharField(max_length=10, choices=TopicLevel.choices)

    class Meta:
        verbose_name = _("topic setting")
        verbose_name_plural = _("topic settings")
        constraints = [models.UniqueConstraint(fields=["user", "topic"], name="notify_one_setting_per_topic")]


class Notification(models.Model):
    """One thing that concerns one person, recorded with the event (in its transaction).

    `channel` is what their preferences said when it happened; `seen_at` is set when they look at the
    item in the hub (or open their notifications); `email` links the mail that told them, if any."""

    class Type(models.TextChoices):
        ALERT = "alert", _("Alert")
        ESCALATION = "escalation", _("Escalation")
        MENTION = "mention", _("Mention")
        TICKET = "ticket", _("Request change")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    type = models.CharField(max_length=12, choices=Type.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    alert = models.ForeignKey("alerts.Alert", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    ticket = models.ForeignKey("support_requests.Ticket", on_delete=models.CASCADE, null=True, blank=True,
                               related_name="+")
    ticket_event = models.ForeignKey("support_requests.TicketEvent", on_delete=models.CASCADE, null=True,
                                     blank=True, related_name="+")
    message = models.ForeignKey("chat.Message", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    # A short machine-readable detail ("raised", "escalated step 2", a ticket event kind …).
    verb = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(null=True, blank=True)
    email = models.ForeignKey("Email", on_delete=models.SET_NULL, null=True, blank=True, related_name="notifications")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notify_inbox"),
            # The batching pass: unseen, unmailed notifications meant for email.
            models.Index(fields=["channel", "seen_at", "email", "created_at"], name="notify_unmailed"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.type} {self.verb}"


class AlertNotice(models.Model):
    """"An alert was raised: tell its audience" — the one outbox row a raise writes (issue 27, target 3).

    Raising an alert commits the alert, its timeline, its live frame and this row, and answers; the
    job `notify.alerts` (notify/jobs.py, in every served process and in `run_worker`) expands the row
    within seconds into each reader's `Notification`, the `Email` outbox rows and the webhook
    deliveries, deciding the readers then, from their rights at that moment. A row is expanded once:
    the expansion claims it (`expanded_at`) in the transaction that writes what it expands to."""

    alert = models.OneToOneField("alerts.Alert", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expanded_at = models.DateTimeField(null=True, blank=True)
    # How many people the expansion recorded a notification for (the admin's and the log's figure).
    notified = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("alert notice")
        verbose_name_plural = _("alert notices")
        indexes = [models.Index(fields=["id"], condition=models.Q(expanded_at__isnull=True),
                                name="notify_notice_pending")]

    def __str__(self) -> str:
        return f"alert {self.alert_id} ({'expanded' if self.expanded_at else 'pending'})"


class Email(models.Model):
    """The outbox and the delivery log: one email to one person.

    Written inside the transaction of what caused it (or by a worker pass); delivered by the worker,
    which renders it then, from the person's current rights and language, and retries with back-off.
    What was sent (subject, text) is kept for the admin."""

    class Type(models.TextChoices):
        ALERT = "alert", _("Alert")
        ESCALATION = "escalation", _("Escalation")
        BATCH = "batch", _("Mentions and request changes")
        DIGEST = "digest", _("Digest")
        EVENT = "event", _("Event reminder")
        TEST = "test", _("Test")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Not sent (nothing the person may read)")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=12, choices=Type.choices)
    alert = models.ForeignKey("alerts.Alert", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    # Escalation step, digest period … whatever the type needs to render.
    detail = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    not_before = models.DateTimeField(default=timezone.now, help_text=_("Quiet hours or the next retry."))
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    to_address = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    text = models.TextField(blank=True, help_text=_("The plain-text part as sent."))
    message_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("email")
        verbose_name_plural = _("emails")
        indexes = [models.Index(fields=["status", "not_before"], name="notify_email_due")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.type} → {self.to_address or self.user_id} ({self.status})"


class InboundEmail(models.Model):
    """Every message that arrived for a reply address, and what became of it (the log that replaces
    a bounce: refused mail is recorded here and nowhere else)."""

    class Outcome(models.TextChoices):
        COMMENTED = "commented", _("Comment added")
        REFUSED = "refused", _("Refused")

    received_at = models.DateTimeField(default=timezone.now)
    envelope_from = models.CharField(max_length=254, blank=True)
    recipient = models.CharField(max_length=254, blank=True)
    header_from = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    message_id = models.CharField(max_length=300, blank=True)
    size = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    reason = models.CharField(max_length=300, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="+")
    ticket = models.ForeignKey("support_requests.Ticket", on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="+")
    comment = models.ForeignKey("support_requests.Comment", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("inbound email")
        verbose_name_plural = _("inbound emails")

    def __str__(self) -> str:
        return f"{self.recipient} {self.outcome}"


# --- webhooks ------------------------------------------------------------------------------------


class WebhookEvent(models.TextChoices):
    ALERT = "alert", _("Alerts")
    TICKET = "ticket", _("Request changes")
    MESSAGE = "message", _("Messages in chosen topics")


class WebhookTlp(models.TextChoices):
    """The most sensitive marking a webhook may carry out of the hub. TLP:AMBER+STRICT and TLP:RED
    never leave by webhook."""

    CLEAR = "clear", _("TLP:CLEAR only")
    GREEN = "green", _("Up to TLP:GREEN")
    AMBER = "amber", _("Up to TLP:AMBER")


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class Webhook(models.Model):
    """A centre's tool that wants the hub's events: signed JSON POSTs to `url`.

    It acts as the manager who registered it: an event is delivered only if that person, with their
    rights at delivery time, may read it, and its TLP is within `max_tlp`."""

    centre = models.ForeignKey("hub.Centre", on_delete=models.CASCADE, related_name="webhooks")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=100, blank=True)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(_("secret"), max_length=200, default=new_secret)
    events = models.JSONField(_("events"), default=list)
    topics = models.ManyToManyField("chat.Topic", verbose_name=_("topics"), blank=True, related_name="+")
    max_tlp = models.CharField(_("most sensitive TLP sent"), max_length=10, choices=WebhookTlp.choices,
                               default=WebhookTlp.GREEN)
    # A state, not auth's "active" (Django's Vietnamese reads it as the verb "Kích hoạt"; docs/ui.md).
    active = models.BooleanField(pgettext_lazy("state", "active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["centre", "id"]
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")

    def __str__(self) -> str:
        return f"{self.centre_id}: {self.url}"


class WebhookCursor(models.Model):
    """How far a webhook has been sent a topic's messages. Message ids are committed in order within a
    topic (chat.services locks the topic row), so "after this id" never skips one."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="cursors")
    topic = models.ForeignKey("chat.Topic", on_delete=models.CASCADE, related_name="+")
    last_id = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["webhook", "topic"], name="notify_one_cursor_per_topic")]


class WebhookDelivery(models.Model):
    """One event for one webhook: the outbox row, then its delivery log (the body as sent, the answer)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Not sent (not allowed to leave)")

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40)
    alert = models.ForeignKey("alerts.Alert", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    ticket = models.ForeignKey("support_requests.Ticket", on_delete=models.CASCADE, null=True, blank=True,
                               related_name="+")
    ticket_event = models.ForeignKey("support_requests.TicketEvent", on_delete=models.CASCADE, null=True,
                                     blank=True, related_name="+")
    message = models.ForeignKey("chat.Message", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    not_before = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)
    body = models.TextField(blank=True, help_text=_("The JSON body of the last attempt."))
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [models.Index(fields=["status", "not_before"], name="notify_delivery_due")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.event} → {self.webhook_id} ({self.status})"
