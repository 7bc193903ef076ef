"""Security incident alerts: what was raised, to whom it may be shown, who took notice, what escalated.

An alert is a first-class record rather than a chat message because it carries state that a message
cannot: a TLP marking that decides its audience, typed indicators, a status, one acknowledgement per
recipient centre and escalation steps. Its summary is still posted to the security topic, so the
conversation about it happens where people already talk.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hub.models import Centre
from hub.sharing import TLP_MAX_LENGTH, Tlp

__all__ = ["Acknowledgement", "Alert", "AlertEvent", "Escalation", "Indicator", "IndicatorType", "Severity",
           "Status", "Tlp"]


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")



class Status(models.TextChoices):
    OPEN = "open", _("Open")
    MITIGATED = "mitigated", _("Mitigated")
    CLOSED = "closed", _("Closed")


class Alert(models.Model):
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True, help_text=_("Markdown."))
    description_html = models.TextField(editable=False, blank=True)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    tlp = models.CharField(_("TLP"), max_length=TLP_MAX_LENGTH, choices=Tlp.choices)
    affected_systems = models.JSONField(_("affected systems"), default=list, blank=True)
    recommended_actions = models.TextField(_("recommended actions"), blank=True, help_text=_("Markdown."))
    recommended_actions_html = models.TextField(editable=False, blank=True)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("raised by"), on_delete=models.PROTECT, related_name="alerts_raised"
    )
    centre = models.ForeignKey(
        Centre, verbose_name=_("raising centre"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="alerts_raised",
    )
    shared_with = models.ManyToManyField(
        Centre, verbose_name=_("shared with"), blank=True, related_name="alerts_shared",
        help_text=_("TLP:AMBER, AMBER+STRICT and RED: the centres, besides the raising one, that may see the "
                    "alert (none: AMBER reaches every centre, RED only the raising one)."),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    # Title, description, systems and indicators without diacritics, lower case: "an toan" finds "an toàn"
    # on every database backend.
    search_text = models.TextField(editable=False, blank=True)
    # Where the alert came from when it was promoted from a conversation (chat.promotion): the
    # topic, who promoted it, and the quoted messages (author, centre, time, link, text).
    origin = models.JSONField(_("promoted from"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("raised at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # Set on the alerts a digest mail lists (notify.emails): the absolute link, and whether TLP keeps
    # the title out of the mail. Not columns.
    email_url: str
    withheld: bool

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        indexes = [models.Index(fields=["severity", "status", "created_at"])]

    def __str__(self) -> str:
        return f"#{self.pk} [{self.severity}/{self.tlp}] {self.title}"

    def get_absolute_url(self) -> str:
        return f"/alerts/{self.pk}/"


class IndicatorType(models.TextChoices):
    IPV4 = "ipv4", _("IPv4 address")
    IPV6 = "ipv6", _("IPv6 address")
    DOMAIN = "domain", _("Domain")
    URL = "url", _("URL")
    HASH = "hash", _("File hash")
    CVE = "cve", _("CVE id")
    EMAIL = "email", _("Email address")


class Indicator(models.Model):
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="indicators")
    position = models.PositiveIntegerField(default=0)
    type = models.CharField(_("type"), max_length=10, choices=IndicatorType.choices)
    value = models.CharField(_("value"), max_length=2048, help_text=_("Normalised (lower case, refanged)."))
    # md5/sha1/sha256 for hashes (told apart by length), empty otherwise.
    algorithm = models.CharField(_("algorithm"), max_length=10, blank=True)
    # When the indicator joined this alert: where it was "seen" (GET /api/v1/indicators).
    created_at = models.DateTimeField(_("added at"), default=timezone.now)

    class Meta:
        ordering = ["alert", "position"]
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        indexes = [models.Index(fields=["type", "value"])]

    def __str__(self) -> str:
        return f"{self.type}:{self.value}"


class Acknowledgement(models.Model):
    """One recipient centre has taken notice; by whom and when. At most one per centre."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="acknowledgements")
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="alert_acknowledgements")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("acknowledged at"))

    class Meta:
        ordering = ["alert", "at"]
        verbose_name = _("acknowledgement")
        verbose_name_plural = _("acknowledgements")
        constraints = [models.UniqueConstraint(fields=["alert", "centre"], name="alerts_one_ack_per_centre")]

    def __str__(self) -> str:
        return f"{self.alert_id} ← {self.centre.code}"


class Escalation(models.Model):
    """(alert, centre, step) escalated: the unique constraint is what makes it happen exactly once,
    even with two workers running."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="escalations")
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="alert_escalations")
    step = models.PositiveSmallIntegerField()
    at = models.DateTimeField()
    notified = models.JSONField(default=list, help_text=_("Usernames of the managers notified."))

    class Meta:
        ordering = ["alert", "step", "centre"]
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")
        constraints = [
            models.UniqueConstraint(fields=["alert", "centre", "step"], name="alerts_escalate_once_per_step")
        ]

    def __str__(self) -> str:
        return f"{self.alert_id} → {self.centre.code} (step {self.step})"


class AlertEvent(models.Model):
    """One entry of the alert's timeline — the incident record. Append-only: every change to the
    alert (its description, indicators, severity, TLP, status), every note and every correction is a
    new row; no row is ever updated or deleted. The database enforces it (a trigger refusing UPDATE
    and DELETE, migration 0003), the admin shows rows read-only, and a correction is a new entry
    whose `corrects` names the entry it corrects."""

    class Kind(models.TextChoices):
        RAISED = "raised", _("Raised")
        STATUS_CHANGED = "status_changed", _("Status changed")
        REOPENED = "reopened", _("Reopened")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        ESCALATED = "escalated", _("Escalated")
        NOTE = "note", _("Note")
        DESCRIPTION = "description", _("Description changed")
        INDICATORS = "indicators", _("Indicators changed")
        SEVERITY = "severity", _("Severity changed")
        TLP = "tlp", _("TLP changed")

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text=_("Empty when the hub itself acted (escalation)."),
    )
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    before = models.CharField(max_length=50, blank=True)
    after = models.CharField(max_length=50, blank=True)
    note = models.TextField(blank=True)
    # The entry's text (a note, a correction, the new description) as written, and rendered.
    text = models.TextField(_("text"), blank=True)
    html = models.TextField(blank=True, editable=False)
    # A correction names the entry it corrects; the corrected entry itself stays as it was.
    corrects = models.ForeignKey("self", verbose_name=_("corrects"), on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="corrections")
    # What changed, structured: {"added": [...], "removed": [...]} for indicators, the scope for a
    # TLP change, the quoted messages for an alert promoted from a conversation.
    data = models.JSONField(null=True, blank=True)
    at = models.DateTimeField()

    # Set by alerts.selectors.timeline on the entries it returns: the ids of the entries correcting
    # this one. Not a column.
    corrected_by: list[int]

    class Meta:
        ordering = ["alert", "at", "id"]
        verbose_name = _("alert event")
        verbose_name_plural = _("alert events")

    def __str__(self) -> str:
        return f"{self.alert_id} {self.kind} {self.before}→{self.after}"
