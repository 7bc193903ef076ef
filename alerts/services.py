"""Every change to an alert: raise, acknowledge, change status, escalate.

Each action validates everything first (bad input changes nothing), writes inside one transaction,
records an `AlertEvent` (the history is append-only), and schedules its `alert` frame with
`broadcast_on_commit`, so no socket ever hears of an alert the database does not have. The web UI,
the token API and the worker all come through here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from alerts import indicators as indicator_rules
from alerts.frames import AcknowledgementWire, AlertEventName, AlertFrame, StatusChangeWire
from alerts.models import (
    Acknowledgement,
    Alert,
    AlertEvent,
    Escalation,
    Indicator,
    Severity,
    Status,
    Tlp,
)
from alerts.selectors import (
    ACK_ROLES,
    RAISE_ROLES,
    audience_for,
    can_change_status,
    fold,
    recipient_centres,
)
from alerts.serializers import acknowledgement_out, alert_out, escalation_out
from hub.errors import CONFLICT, FORBIDDEN, HubError, invalid
from hub.lib.rendering import render_markdown
from hub.models import Centre, Role, User
from hub.realtime.audience import Audience
from hub.realtime.groups import ALL, centre_group, role_group, user_group
from hub.realtime.publisher import broadcast_on_commit

logger = logging.getLogger(__name__)

SECURITY_TOPIC = "an-toan-thong-tin"
MAX_TITLE = 200
MAX_TEXT = 20_000
MAX_INDICATORS = 500
MAX_SYSTEMS = 100
MAX_SYSTEM_LENGTH = 200
MAX_NOTE = 2_000
AT_MOST_CHARACTERS = gettext_lazy("at most %(n)s characters.")
ONE_OF = gettext_lazy("must be one of %(values)s.")
# Status workflow: an alert is mitigated, then closed (or closed at once); a closed alert stays closed.
TRANSITIONS = {
    Status.OPEN: {Status.MITIGATED, Status.CLOSED},
    Status.MITIGATED: {Status.CLOSED},
    Status.CLOSED: set(),
}


# --- raising --------------------------------------------------------------------------------------

def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def _clean_indicators(items: Iterable[Any]) -> list[indicator_rules.CleanIndicator]:
    items = list(items or [])
    if len(items) > MAX_INDICATORS:
        raise invalid("indicators", gettext_lazy("at most %(n)s items."), n=MAX_INDICATORS)
    cleaned = []
    for i, item in enumerate(items):
        type_ = _field(item, "type")
        if not indicator_rules.known_type(type_):
            raise invalid(f"indicators.{i}.type", ONE_OF, values=", ".join(indicator_rules.TYPES))
        try:
            cleaned.append(indicator_rules.clean(type_, _field(item, "value")))
        except indicator_rules.InvalidIndicator as exc:
            raise invalid(f"indicators.{i}.value", exc.message, **exc.params) from None
    return cleaned


def _clean_systems(systems: Iterable[str] | str | None) -> list[str]:
    if systems is None:
        return []
    if isinstance(systems, str):  # one per line, as typed into a text area
        systems = systems.splitlines()
    result: list[str] = []
    for i, system in enumerate(systems):
        if not isinstance(system, str):
            raise invalid(f"affected_systems.{i}", gettext_lazy("must be a string."))
        system = system.strip()
        if len(system) > MAX_SYSTEM_LENGTH:
            raise invalid(f"affected_systems.{i}", AT_MOST_CHARACTERS, n=MAX_SYSTEM_LENGTH)
        if system and system not in result:
            result.append(system)
    if len(result) > MAX_SYSTEMS:
        raise invalid("affected_systems", gettext_lazy("at most %(n)s items."), n=MAX_SYSTEMS)
    return result


def _clean_shared_with(codes: Iterable[str], tlp: str, author: User) -> list[Centre]:
    codes = [c.strip().upper() for c in (codes or []) if isinstance(c, str) and c.strip()]
    if codes and tlp != Tlp.RED:
        raise invalid("shared_with", gettext_lazy(
            "only a TLP:RED alert is shared with named centres; other markings reach every centre."))
    centres = {c.code: c for c in Centre.objects.filter(code__in=codes)}
    for i, code in enumerate(codes):
        if code not in centres:
            raise invalid(f"shared_with.{i}", gettext_lazy("no centre with code “%(centre)s”."), centre=code)
    if tlp == Tlp.RED and not centres and author.centre_id is None:
        raise invalid("shared_with", gettext_lazy(
            "a TLP:RED alert raised outside any centre must name the centres to share with."))
    return list(centres.values())


def _search_text(alert: Alert, indicators: list[indicator_rules.CleanIndicator]) -> str:
    parts = [alert.title, alert.description, " ".join(alert.affected_systems), alert.recommended_actions,
             alert.centre.code if alert.centre is not None else ""]
    parts += [i.value for i in indicators]
    return fold("\n".join(parts))


def alert_groups(alert: Alert, audience: Audience) -> list[str]:
    """The narrowest notification groups that cover the audience (the audience itself is enforced on
    every socket anyway; narrow groups only spare processes events nobody there may see)."""
    admins = role_group(Role.HUB_ADMIN)
    if audience.centres is not None:
        return [centre_group(code) for code in sorted(audience.centres)] + [admins]
    if audience.roles is not None:
        return [role_group(role) for role in sorted(audience.roles)] + [admins]
    return [ALL]


def _broadcast(alert: Alert, event: AlertEventName, *, acknowledgement: AcknowledgementWire | None = None,
               change: StatusChangeWire | None = None) -> None:
    audience = audience_for(alert)
    frame: AlertFrame = {"type": "alert", "event": event, "alert": alert_out(alert)}
    if acknowledgement is not None:
        frame["acknowledgement"] = acknowledgement
    if change is not None:
        frame["change"] = change
    broadcast_on_commit(alert_groups(alert, audience), frame, audience)


def summary_body(alert: Alert) -> str:
    """The message posted to the security topic, in the hub's working language (it is stored once
    and read by everyone)."""
    with translation.override(settings.LANGUAGE_CODE):
        lines = [
            _("**Security alert #%(id)s · %(severity)s · TLP:%(tlp)s** — %(title)s") % {
                "id": alert.pk, "severity": alert.get_severity_display(), "tlp": alert.tlp.upper(),
                "title": alert.title,
            },
            _("Raised by %(who)s (%(centre)s).") % {
                "who": alert.raised_by.get_display_name(),
                "centre": alert.centre.code if alert.centre is not None else "Hub",
            },
        ]
        if alert.affected_systems:
            lines.append(_("Affected systems: %(systems)s") % {"systems": ", ".join(alert.affected_systems[:10])})
        lines.append(_("[Details and acknowledgement](%(url)s)") % {"url": alert.get_absolute_url()})
    return "\n\n".join(lines)


def _post_summary(alert: Alert, author: User, audience: Audience) -> None:
    from chat.demo import TOPICS
    from chat.services import create_topic, post_message

    # The topic is normally seeded; creating it here (same definition, idempotent) means an alert is
    # never lost for want of its discussion place.
    topic = create_topic(**next(t for t in TOPICS if t["slug"] == SECURITY_TOPIC))
    post_message(topic, by=author, body=summary_body(alert), client_id=f"alert-{alert.pk}",
                 audience=audience)


def raise_alert(
    *,
    by: User,
    title: str,
    severity: str,
    tlp: str,
    description: str = "",
    indicators: Iterable[Any] = (),
    affected_systems: Iterable[str] | str | None = (),
    recommended_actions: str = "",
    shared_with: Iterable[str] = (),
) -> Alert:
    """Store an alert, broadcast it to its TLP audience and post its summary in the security topic."""
    if not by.is_active or not by.has_role(*RAISE_ROLES):
        raise HubError(FORBIDDEN, gettext_lazy("Only security officers and hub admins raise alerts."))
    title = (title or "").strip()
    if not title:
        raise invalid("title", gettext_lazy("must not be empty."))
    if len(title) > MAX_TITLE:
        raise invalid("title", AT_MOST_CHARACTERS, n=MAX_TITLE)
    if severity not in Severity.values:
        raise invalid("severity", ONE_OF, values=", ".join(Severity.values))
    if tlp not in Tlp.values:
        raise invalid("tlp", ONE_OF, values=", ".join(Tlp.values))
    for name, text in (("description", description), ("recommended_actions", recommended_actions)):
        if len(text or "") > MAX_TEXT:
            raise invalid(name, AT_MOST_CHARACTERS, n=MAX_TEXT)
    cleaned = _clean_indicators(indicators)
    systems = _clean_systems(affected_systems)
    centres = _clean_shared_with(shared_with, tlp, by)

    with transaction.atomic():
        alert = Alert(
            title=title, severity=severity, tlp=tlp,
            description=description or "", description_html=render_markdown(description or ""),
            recommended_actions=recommended_actions or "",
            recommended_actions_html=render_markdown(recommended_actions or ""),
            affected_systems=systems, raised_by=by, centre=by.centre,
        )
        alert.search_text = _search_text(alert, cleaned)
        alert.save()
        alert.shared_with.set(centres)
        Indicator.objects.bulk_create(
            Indicator(alert=alert, position=i, type=c.type, value=c.value, algorithm=c.algorithm)
            for i, c in enumerate(cleaned)
        )
        AlertEvent.objects.create(alert=alert, kind=AlertEvent.Kind.RAISED, actor=by, centre=by.centre,
                                  after=Status.OPEN, at=alert.created_at)
        alert = Alert.objects.select_related("raised_by__centre", "centre").get(pk=alert.pk)
        _broadcast(alert, "raised")
        _post_summary(alert, by, audience_for(alert))
    logger.info("alert %s raised by %s (%s, TLP:%s)", alert.pk, by, severity, tlp)
    return alert


# --- acknowledging -------------------------------------------------------------------------------

def acknowledge_alert(alert: Alert, *, by: User) -> tuple[Acknowledgement, bool]:
    """Record that the centre of `by` took notice. Idempotent: a second acknowledgement by anyone of
    the same centre returns the first one (created=False) and broadcasts nothing."""
    if not by.has_role(*ACK_ROLES) or by.centre_id is None:
        raise HubError(FORBIDDEN, gettext_lazy("Only a centre's security officers and managers acknowledge alerts."))
    if alert.centre_id == by.centre_id:
        raise HubError(FORBIDDEN, gettext_lazy("Your centre raised this alert; it does not acknowledge it."))
    if not recipient_centres(alert).filter(pk=by.centre_id).exists():
        raise HubError(FORBIDDEN, gettext_lazy("Your centre is not a recipient of this alert."))
    existing = Acknowledgement.objects.filter(alert=alert, centre_id=by.centre_id).select_related(
        "user__centre", "centre").first()
    if existing is not None:
        return existing, False
    with transaction.atomic():
        try:
            with transaction.atomic():
                ack = Acknowledgement.objects.create(alert=alert, centre_id=by.centre_id, user=by,
                                                     at=timezone.now())
        except IntegrityError:  # a colleague acknowledged at the same moment
            return Acknowledgement.objects.select_related("user__centre", "centre").get(
                alert=alert, centre_id=by.centre_id), False
        AlertEvent.objects.create(alert=alert, kind=AlertEvent.Kind.ACKNOWLEDGED, actor=by, centre=by.centre,
                                  before="pending", after="acknowledged", at=ack.at)
        ack = Acknowledgement.objects.select_related("user__centre", "centre").get(pk=ack.pk)
        _broadcast(alert, "acknowledged", acknowledgement=acknowledgement_out(ack))
    return ack, True


# --- status ----------------------------------------------------------------------------------------

def change_alert_status(alert: Alert, *, by: User, to: str, note: str = "") -> Alert:
    """Move an alert through open → mitigated → closed (409 otherwise); closed alerts stop escalating."""
    if not can_change_status(alert, by):
        raise HubError(FORBIDDEN, gettext_lazy(
            "Only the raising centre's security officers and managers, or hub admins, change an alert's status."))
    if to not in Status.values:
        raise invalid("to", ONE_OF, values=", ".join(Status.values))
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise invalid("note", AT_MOST_CHARACTERS, n=MAX_NOTE)
    with transaction.atomic():
        locked = Alert.objects.select_for_update().get(pk=alert.pk)
        before = locked.status
        if to not in TRANSITIONS[Status(before)]:
            raise HubError(CONFLICT, gettext_lazy("An alert that is %(before)s cannot become %(to)s."),
                           extra={"current": before}, before=before, to=to)
        locked.status = to
        locked.save(update_fields=["status", "updated_at"])
        AlertEvent.objects.create(alert=locked, kind=AlertEvent.Kind.STATUS_CHANGED, actor=by, centre=by.centre,
                                  before=before, after=to, note=note, at=timezone.now())
        alert = Alert.objects.select_related("raised_by__centre", "centre").get(pk=alert.pk)
        _broadcast(alert, "status_changed", change={"from": before, "to": to, "note": note,
                                                    "by": by.username})
    return alert


# --- escalation -----------------------------------------------------------------------------------

def escalation_delay(severity: str) -> timedelta | None:
    minutes = {
        Severity.HIGH.value: settings.HUB_ESCALATE_HIGH_MINUTES,
        Severity.CRITICAL.value: settings.HUB_ESCALATE_CRITICAL_MINUTES,
    }.get(severity)
    if not minutes or minutes <= 0:
        return None
    return timedelta(minutes=minutes)


def due_step(alert: Alert, now: datetime) -> int:
    """Step n is due once n delays have passed without acknowledgement (capped at the maximum)."""
    delay = escalation_delay(alert.severity)
    if delay is None:
        return 0
    return min(int((now - alert.created_at) / delay), settings.HUB_ESCALATE_MAX_STEPS)


def escalate_due_alerts(*, now: datetime | None = None) -> list[Escalation]:
    """Escalate every (alert, pending centre) whose next step is due; returns what it escalated.

    A step is recorded once (unique constraint), so overlapping runs or two workers never notify
    twice. A worker that was down for several delays sends one notification for the current step,
    not a burst of the missed ones.
    """
    now = now or timezone.now()
    done: list[Escalation] = []
    for severity in (Severity.HIGH, Severity.CRITICAL):
        delay = escalation_delay(severity)
        if delay is None:
            continue
        alerts = (Alert.objects.filter(severity=severity, created_at__lte=now - delay)
                  .exclude(status=Status.CLOSED).select_related("raised_by__centre", "centre"))
        for alert in alerts:
            done += _escalate_alert(alert, due_step(alert, now), now)
    return done


def _escalate_alert(alert: Alert, step: int, now: datetime) -> list[Escalation]:
    if step < 1:
        return []
    acknowledged = set(Acknowledgement.objects.filter(alert=alert).values_list("centre_id", flat=True))
    reached = dict(
        Escalation.objects.filter(alert=alert).values("centre_id").annotate(top=Max("step")).values_list(
            "centre_id", "top")
    )
    done = []
    for centre in recipient_centres(alert):
        if centre.pk in acknowledged or reached.get(centre.pk, 0) >= step:
            continue
        escalation = _escalate_centre(alert, centre, step, now)
        if escalation is not None:
            done.append(escalation)
    return done


def _escalate_centre(alert: Alert, centre: Centre, step: int, now: datetime) -> Escalation | None:
    managers = list(User.objects.filter(centre=centre, role=Role.MANAGER, is_active=True).order_by("username"))
    with transaction.atomic():
        try:
            with transaction.atomic():
                escalation = Escalation.objects.create(
                    alert=alert, centre=centre, step=step, at=now, notified=[m.username for m in managers]
                )
        except IntegrityError:  # another worker got there first
            return None
        AlertEvent.objects.create(alert=alert, kind=AlertEvent.Kind.ESCALATED, centre=centre,
                                  before="pending", after=f"step {step}",
                                  note=", ".join(escalation.notified), at=now)
        if managers:
            frame: AlertFrame = {"type": "alert", "event": "escalated", "alert": alert_out(alert),
                                 "escalation": escalation_out(escalation)}
            ids = frozenset(m.pk for m in managers)
            broadcast_on_commit([user_group(i) for i in sorted(ids)], frame, Audience(users=ids))
            message = _escalation_email(alert, centre, step, [m.email for m in managers if m.email])
            if message is not None:
                transaction.on_commit(lambda: _send(message), robust=True)
    logger.warning("alert %s escalated to %s (step %s): %s", alert.pk, centre.code, step, escalation.notified)
    return escalation


def _escalation_email(alert: Alert, centre: Centre, step: int, recipients: list[str]) -> EmailMessage | None:
    if not recipients:
        return None
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("[Hub] Unacknowledged %(severity)s alert #%(id)s: %(title)s") % {
            "severity": alert.get_severity_display(), "id": alert.pk, "title": alert.title}
        minutes = int((escalation_delay(alert.severity) or timedelta()).total_seconds() // 60) * step
        body = "\n\n".join([
            _("Centre %(centre)s has not acknowledged this alert for %(minutes)s minutes (escalation step "
              "%(step)s).") % {"centre": centre.code, "minutes": minutes, "step": step},
            f"#{alert.pk} [{alert.get_severity_display()} · TLP:{alert.tlp.upper()}] {alert.title}",
            _("Raised by %(who)s (%(centre)s) at %(at)s.") % {
                "who": alert.raised_by.get_display_name(),
                "centre": alert.centre.code if alert.centre is not None else "Hub",
                "at": timezone.localtime(alert.created_at).strftime("%Y-%m-%d %H:%M")},
            _("Acknowledge it here: %(url)s") % {"url": settings.HUB_PUBLIC_URL + alert.get_absolute_url()},
        ])
    return EmailMessage(subject=subject, body=body, to=recipients)


def _send(message: EmailMessage) -> None:
    try:
        message.send()
    except Exception:
        logger.exception("escalation email to %s could not be sent", message.to)
