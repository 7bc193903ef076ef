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
from django.utils.translation import gettext_lazy as _l

from alerts import indicators as indicator_rules
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
    audience_of,
    can_add_entry,
    can_change_status,
    can_correct,
    fold,
    recipient_centres,
    scope_of,
)
from alerts.serializers import acknowledgement_out, alert_out, entry_out, escalation_out
from hub.errors import FORBIDDEN, INVALID, METHOD_NOT_ALLOWED, HubError
from hub.lib.api_support import ApiError
from hub.lib.rendering import render_markdown
from hub.models import Centre, Role, User
from hub.realtime.audience import Audience
from hub.realtime.groups import groups_for, user_group
from hub.realtime.publisher import broadcast_on_commit
from hub.sharing import tightest

logger = logging.getLogger(__name__)

SECURITY_TOPIC = "an-toan-thong-tin"
MAX_TITLE = 200
MAX_TEXT = 20_000
MAX_INDICATORS = 500
MAX_SYSTEMS = 100
MAX_SYSTEM_LENGTH = 200
MAX_NOTE = 2_000
# Status workflow: an alert is mitigated, then closed (or closed at once); a mitigated or closed alert
# is reopened with a reason, because attackers come back.
TRANSITIONS = {
    Status.OPEN: {Status.MITIGATED, Status.CLOSED},
    Status.MITIGATED: {Status.CLOSED, Status.OPEN},
    Status.CLOSED: {Status.OPEN},
}


class AlertError(ApiError):
    """A refused alert action; the API answers it with the contract's error body, the UI shows `detail`."""

    def __init__(self, status: int, detail: str, field: str | None = None, code: str | None = None) -> None:
        extra = {"fields": [field]} if field else {}
        super().__init__(status, f"{field}: {detail}" if field else detail, code=code, **extra)


# --- raising --------------------------------------------------------------------------------------

def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def _clean_indicators(items: Iterable[Any]) -> list[indicator_rules.CleanIndicator]:
    items = list(items or [])
    if len(items) > MAX_INDICATORS:
        raise AlertError(400, f"at most {MAX_INDICATORS} indicators.", field="indicators")
    cleaned = []
    for i, item in enumerate(items):
        type_ = _field(item, "type")
        if not indicator_rules.known_type(type_):
            raise AlertError(400, f"must be one of {', '.join(indicator_rules.TYPES)}.", field=f"indicators.{i}.type")
        try:
            cleaned.append(indicator_rules.clean(type_, _field(item, "value")))
        except indicator_rules.InvalidIndicator as exc:
            raise AlertError(400, f"{exc}.", field=f"indicators.{i}.value") from None
    return cleaned


def _clean_systems(systems: Iterable[str] | str | None) -> list[str]:
    if systems is None:
        return []
    if isinstance(systems, str):  # one per line, as typed into a text area
        systems = systems.splitlines()
    result: list[str] = []
    for i, system in enumerate(systems):
        if not isinstance(system, str):
            raise AlertError(400, "must be a string.", field=f"affected_systems.{i}")
        system = system.strip()
        if len(system) > MAX_SYSTEM_LENGTH:
            raise AlertError(400, f"at most {MAX_SYSTEM_LENGTH} characters.", field=f"affected_systems.{i}")
        if system and system not in result:
            result.append(system)
    if len(result) > MAX_SYSTEMS:
        raise AlertError(400, f"at most {MAX_SYSTEMS} systems.", field="affected_systems")
    return result


def _clean_shared_with(codes: Iterable[str], tlp: str, author: User) -> list[Centre]:
    codes = [c.strip().upper() for c in (codes or []) if isinstance(c, str) and c.strip()]
    if codes and tlp in (Tlp.CLEAR, Tlp.GREEN):
        raise AlertError(
            400, "only a TLP:AMBER, AMBER+STRICT or RED alert is shared with named centres; CLEAR and GREEN "
                 "reach every centre.",
            field="shared_with",
        )
    centres = {c.code: c for c in Centre.objects.filter(code__in=codes)}
    for i, code in enumerate(codes):
        if code not in centres:
            raise AlertError(400, f"no centre with code {code!r}.", field=f"shared_with.{i}")
    if tlp == Tlp.RED and not centres and author.centre_id is None:
        raise AlertError(400, "a TLP:RED alert raised outside any centre must name the centres to share with.",
                         field="shared_with")
    return list(centres.values())


def _search_text(alert: Alert, indicators: list[indicator_rules.CleanIndicator]) -> str:
    parts = [alert.title, alert.description, " ".join(alert.affected_systems), alert.recommended_actions,
             alert.centre.code if alert.centre_id else ""]
    parts += [i.value for i in indicators]
    return fold("\n".join(parts))


def _broadcast(alert: Alert, event: str, **extra: Any) -> None:
    audience = audience_of(alert)
    frame = {"type": "alert", "event": event, "alert": alert_out(alert), **extra}
    broadcast_on_commit(groups_for(audience), frame, audience)


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
                "who": alert.raised_by.get_display_name(), "centre": alert.centre.code if alert.centre_id else "Hub",
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
    scope = scope_of(alert)
    post_message(topic=topic, author=author, body=summary_body(alert), client_id=f"alert-{alert.pk}",
                 audience=audience, tlp=tightest(alert.tlp, topic.default_tlp),
                 shared_with=sorted(scope) if scope is not None else None)



def raise_alert(
    *,
    author: User,
    title: str,
    severity: str,
    tlp: str,
    description: str = "",
    indicators: Iterable[Any] = (),
    affected_systems: Iterable[str] | str | None = (),
    recommended_actions: str = "",
    shared_with: Iterable[str] = (),
    origin: dict[str, Any] | None = None,
) -> Alert:
    """Store an alert, broadcast it to its TLP audience and post its summary in the security topic.
    `origin` is what a promotion quotes (chat.promotion): the conversation the alert came from."""
    if not author.is_active or not author.has_role(*RAISE_ROLES):
        raise AlertError(403, "Only security officers and hub admins raise alerts.")
    title = (title or "").strip()
    if not title:
        raise AlertError(400, "must not be empty.", field="title")
    if len(title) > MAX_TITLE:
        raise AlertError(400, f"at most {MAX_TITLE} characters.", field="title")
    if severity not in Severity.values:
        raise AlertError(400, f"must be one of {', '.join(Severity.values)}.", field="severity")
    if tlp not in Tlp.values:
        raise AlertError(400, f"must be one of {', '.join(Tlp.values)}.", field="tlp")
    for name, text in (("description", description), ("recommended_actions", recommended_actions)):
        if len(text or "") > MAX_TEXT:
            raise AlertError(400, f"at most {MAX_TEXT} characters.", field=name)
    cleaned = _clean_indicators(indicators)
    systems = _clean_systems(affected_systems)
    centres = _clean_shared_with(shared_with, tlp, author)

    with transaction.atomic():
        alert = Alert(
            title=title, severity=severity, tlp=tlp,
            description=description or "", description_html=render_markdown(description or ""),
            recommended_actions=recommended_actions or "",
            recommended_actions_html=render_markdown(recommended_actions or ""),
            affected_systems=systems, raised_by=author, centre=author.centre, origin=origin,
        )
        alert.search_text = _search_text(alert, cleaned)
        alert.save()
        alert.shared_with.set(centres)
        Indicator.objects.bulk_create(
            Indicator(alert=alert, position=i, type=c.type, value=c.value, algorithm=c.algorithm,
                      created_at=alert.created_at)
            for i, c in enumerate(cleaned)
        )
        AlertEvent.objects.create(
            alert=alert, kind=AlertEvent.Kind.RAISED, actor=author, centre=author.centre, after=Status.OPEN,
            at=alert.created_at, text=alert.description, html=alert.description_html,
            data={"severity": severity, "tlp": tlp, "shared_with": sorted(c.code for c in centres),
                  "indicators": [_indicator_data(c) for c in cleaned],
                  **({"promoted_from": origin} if origin else {})})
        alert = Alert.objects.select_related("raised_by__centre", "centre").get(pk=alert.pk)
        _broadcast(alert, "raised")
        _post_summary(alert, author, audience_of(alert))
    logger.info("alert %s raised by %s (%s, TLP:%s)", alert.pk, author, severity, tlp)
    return alert


def _indicator_data(indicator: Any) -> dict[str, str]:
    return {"type": indicator.type, "value": indicator.value}


# --- acknowledging -------------------------------------------------------------------------------

def acknowledge(alert: Alert, user: User) -> tuple[Acknowledgement, bool]:
    """Record that the user's centre took notice. Idempotent: a second acknowledgement by anyone of
    the same centre returns the first one (created=False) and broadcasts nothing."""
    if not user.has_role(*ACK_ROLES) or user.centre_id is None:
        raise AlertError(403, "Only a centre's security officers and managers acknowledge alerts.")
    if alert.centre_id == user.centre_id:
        raise AlertError(403, "Your centre raised this alert; it does not acknowledge it.")
    if not recipient_centres(alert).filter(pk=user.centre_id).exists():
        raise AlertError(403, "Your centre is not a recipient of this alert.")
    existing = Acknowledgement.objects.filter(alert=alert, centre_id=user.centre_id).select_related(
        "user__centre", "centre").first()
    if existing is not None:
        return existing, False
    with transaction.atomic():
        try:
            with transaction.atomic():
                ack = Acknowledgement.objects.create(alert=alert, centre_id=user.centre_id, user=user,
                                                     at=timezone.now())
        except IntegrityError:  # a colleague acknowledged at the same moment
            return Acknowledgement.objects.select_related("user__centre", "centre").get(
                alert=alert, centre_id=user.centre_id), False
        AlertEvent.objects.create(alert=alert, kind=AlertEvent.Kind.ACKNOWLEDGED, actor=user, centre=user.centre,
                                  before="pending", after="acknowledged", at=ack.at)
        ack = Acknowledgement.objects.select_related("user__centre", "centre").get(pk=ack.pk)
        _broadcast(alert, "acknowledged", acknowledgement=acknowledgement_out(ack))
    return ack, True


# --- status ----------------------------------------------------------------------------------------

def change_status(alert: Alert, user: User, to: str, note: str = "") -> Alert:
    """Move an alert through open → mitigated → closed (409 otherwise); closed alerts stop escalating.
    Reopening (mitigated or closed → open) needs a reason, which the timeline keeps."""
    if not can_change_status(alert, user):
        raise AlertError(403, "Only the raising centre's security officers and managers, or hub admins, "
                              "change an alert's status.")
    if to not in Status.values:
        raise AlertError(400, f"must be one of {', '.join(Status.values)}.", field="to")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise AlertError(400, f"at most {MAX_NOTE} characters.", field="note")
    with transaction.atomic():
        locked = Alert.objects.select_for_update().get(pk=alert.pk)
        before = locked.status
        if to not in TRANSITIONS[Status(before)]:
            raise AlertError(409, f"An alert that is {before} cannot become {to}.")
        reopening = to == Status.OPEN
        if reopening and not note:
            raise AlertError(400, "a reason is required to reopen an alert.", field="note")
        locked.status = to
        locked.save(update_fields=["status", "updated_at"])
        kind = AlertEvent.Kind.REOPENED if reopening else AlertEvent.Kind.STATUS_CHANGED
        AlertEvent.objects.create(alert=locked, kind=kind, actor=user, centre=user.centre,
                                  before=before, after=to, note=note, at=timezone.now())
        alert = Alert.objects.select_related("raised_by__centre", "centre").get(pk=alert.pk)
        _broadcast(alert, "status_changed", change={"from": before, "to": to, "note": note,
                                                    "by": user.username})
    return alert


# --- escalation -----------------------------------------------------------------------------------

def escalation_delay(severity: str) -> timedelta | None:
    minutes = {
        Severity.HIGH: settings.HUB_ESCALATE_HIGH_MINUTES,
        Severity.CRITICAL: settings.HUB_ESCALATE_CRITICAL_MINUTES,
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


def escalate_due(now: datetime | None = None) -> list[Escalation]:
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
            frame = {"type": "alert", "event": "escalated", "alert": alert_out(alert),
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
                "who": alert.raised_by.get_display_name(), "centre": alert.centre.code if alert.centre_id else "Hub",
                "at": timezone.localtime(alert.created_at).strftime("%Y-%m-%d %H:%M")},
            _("Acknowledge it here: %(url)s") % {"url": settings.HUB_PUBLIC_URL + alert.get_absolute_url()},
        ])
    return EmailMessage(subject=subject, body=body, to=recipients)


def _send(message: EmailMessage) -> None:
    try:
        message.send()
    except Exception:
        logger.exception("escalation email to %s could not be sent", message.to)


# --- the timeline: notes, corrections and changes ----------------------------------------------------
# The alert row holds the current state (what lists and filters read); the timeline holds how it got
# there, and only ever grows. Each change below writes the new state and an entry in one transaction.

def _entry(alert: Alert, user: User | None, kind: str, **fields: Any) -> AlertEvent:
    return AlertEvent.objects.create(alert=alert, kind=kind, actor=user, centre=user.centre if user else None,
                                     at=timezone.now(), **fields)


def add_entry(*, alert: Alert, user: User, text: Any, corrects: Any = None) -> AlertEvent:
    """A note on the record, or — with `corrects` — a correction of an earlier entry, which stays as
    it was (the page strikes it through and links here)."""
    if not can_add_entry(alert, user):
        raise HubError(FORBIDDEN, _l("Only security officers and managers add entries to an alert's record."))
    if not isinstance(text, str) or not text.strip():
        raise HubError(INVALID, _l("text: must not be empty."), fields=["text"])
    if len(text) > MAX_TEXT:
        raise HubError(INVALID, _l("text: at most %(n)s characters."), fields=["text"], n=MAX_TEXT)
    corrected = None
    if corrects is not None:
        if isinstance(corrects, bool) or not isinstance(corrects, int):
            raise HubError(INVALID, _l("corrects: the id of an entry of this alert."), fields=["corrects"])
        corrected = AlertEvent.objects.filter(pk=corrects, alert=alert).select_related("alert").first()
        if corrected is None:
            raise HubError(INVALID, _l("corrects: no entry %(id)s in this alert's record."), fields=["corrects"],
                           id=corrects)
        if not can_correct(corrected, user):
            raise HubError(FORBIDDEN, _l("An entry is corrected by its author or by the raising centre."))
    with transaction.atomic():
        entry = _entry(alert, user, AlertEvent.Kind.NOTE, text=text, html=render_markdown(text), corrects=corrected)
        Alert.objects.filter(pk=alert.pk).update(updated_at=entry.at)
        fresh = Alert.objects.select_related("raised_by__centre", "centre").get(pk=alert.pk)
        _broadcast(fresh, "entry", entry=entry_out(entry))
    return entry


def refuse_rewrite() -> None:
    """What PATCH and DELETE of an entry answer (405): the record is append-only."""
    raise HubError(METHOD_NOT_ALLOWED, _l("An entry of an alert's record is never changed or deleted; add a correction "
                                   "(POST …/entries with \"corrects\") instead."))


def update_alert(*, alert: Alert, user: User, changes: Mapping[str, Any]) -> Alert:
    """Change an alert's description, severity, TLP (and sharing scope) or indicators. Each change
    is an entry on the timeline with what it was and what it became; `note` says why. The alert's
    summary in the security topic follows a TLP change, so it is never wider than the alert."""
    if not can_change_status(alert, user):
        raise HubError(FORBIDDEN, _l("Only the raising centre's security officers and managers, or hub admins, "
                                     "change an alert."))
    unknown = sorted(set(changes) - {"description", "severity", "tlp", "shared_with", "indicators", "note"})
    if unknown:
        raise HubError(INVALID, _l("%(field)s: cannot be changed here."), fields=unknown, field=unknown[0])
    note = (changes.get("note") or "").strip()
    if len(note) > MAX_NOTE:
        raise HubError(INVALID, _l("note: at most %(n)s characters."), fields=["note"], n=MAX_NOTE)
    with transaction.atomic():
        locked = Alert.objects.select_for_update(of=("self",)).select_related("centre", "raised_by").get(pk=alert.pk)
        changed: list[AlertEvent] = []
        if "description" in changes and (changes["description"] or "") != locked.description:
            text = changes["description"] or ""
            if not isinstance(text, str) or len(text) > MAX_TEXT:
                raise HubError(INVALID, _l("description: at most %(n)s characters."), fields=["description"],
                               n=MAX_TEXT)
            locked.description, locked.description_html = text, render_markdown(text)
            changed.append(_entry(locked, user, AlertEvent.Kind.DESCRIPTION, text=text, html=locked.description_html,
                                  note=note))
        if "severity" in changes and changes["severity"] != locked.severity:
            if changes["severity"] not in Severity.values:
                raise HubError(INVALID, _l("severity: must be one of %(values)s."), fields=["severity"],
                               values=", ".join(Severity.values))
            changed.append(_entry(locked, user, AlertEvent.Kind.SEVERITY, before=locked.severity,
                                  after=changes["severity"], note=note))
            locked.severity = changes["severity"]
        if "tlp" in changes or "shared_with" in changes:
            changed += _change_sharing(locked, user, changes, note)
        if "indicators" in changes:
            changed += _change_indicators(locked, user, changes["indicators"], note)
        if not changed:
            return alert
        locked.search_text = _search_text(locked, list(locked.indicators.all()))
        locked.save(update_fields=["description", "description_html", "severity", "tlp", "search_text",
                                   "updated_at"])
        audience = audience_of(locked)
        fresh = Alert.objects.select_related("raised_by__centre", "centre").get(pk=alert.pk)
        _broadcast(fresh, "updated", entries=[entry_out(e) for e in changed])
        _follow_summary(fresh, audience)
    return fresh


def _change_sharing(alert: Alert, user: User, changes: Mapping[str, Any], note: str) -> list[AlertEvent]:
    tlp = changes.get("tlp", alert.tlp)
    if tlp not in Tlp.values:
        raise HubError(INVALID, _l("tlp: must be one of %(values)s."), fields=["tlp"], values=", ".join(Tlp.values))
    before_codes = sorted(c.code for c in alert.shared_with.all())
    codes = changes["shared_with"] if "shared_with" in changes else (
        [] if tlp in (Tlp.CLEAR, Tlp.GREEN) else before_codes)
    try:
        centres = _clean_shared_with(codes or [], tlp, user)
    except AlertError as exc:
        raise HubError(INVALID, exc.detail, fields=["shared_with"]) from None
    after_codes = sorted(c.code for c in centres)
    if tlp == alert.tlp and after_codes == before_codes:
        return []
    entry = _entry(alert, user, AlertEvent.Kind.TLP, before=alert.tlp, after=tlp, note=note,
                   data={"shared_with": {"before": before_codes, "after": after_codes}})
    alert.tlp = tlp
    alert.shared_with.set(centres)
    return [entry]


def _change_indicators(alert: Alert, user: User, items: Any, note: str) -> list[AlertEvent]:
    if not isinstance(items, list | tuple):
        raise HubError(INVALID, _l("indicators: a list of {type, value}."), fields=["indicators"])
    try:
        cleaned = _clean_indicators(items)
    except AlertError as exc:
        raise HubError(INVALID, exc.detail, fields=exc.extra.get("fields")) from None
    current = {(i.type, i.value): i for i in alert.indicators.all()}
    wanted = list(dict.fromkeys((c.type, c.value) for c in cleaned))
    added = [c for c in dict.fromkeys(cleaned) if (c.type, c.value) not in current]
    removed = [key for key in current if key not in wanted]
    if not added and not removed:
        return []
    Indicator.objects.filter(pk__in=[current[key].pk for key in removed]).delete()
    now = timezone.now()
    Indicator.objects.bulk_create(Indicator(alert=alert, position=0, type=c.type, value=c.value,
                                            algorithm=c.algorithm, created_at=now) for c in added)
    for position, indicator in enumerate(sorted(alert.indicators.all(), key=lambda i: wanted.index((i.type, i.value)))):
        Indicator.objects.filter(pk=indicator.pk).update(position=position)
    return [_entry(alert, user, AlertEvent.Kind.INDICATORS, note=note, data={
        "added": [_indicator_data(c) for c in added],
        "removed": [{"type": t, "value": v} for t, v in removed]})]


def _follow_summary(alert: Alert, audience: Audience) -> None:
    """The alert's summary message in the security topic gets the alert's current audience and
    marking: after a TLP change it reaches exactly who the alert reaches, no one else."""
    from chat.models import Message
    from chat.serializers import message_out
    from hub.realtime.groups import topic_group

    scope = scope_of(alert)
    for message in Message.objects.filter(client_id=f"alert-{alert.pk}", author_id=alert.raised_by_id).select_related(
            "topic", "author__centre"):
        message.set_audience(audience.as_meta())
        message.tlp = tightest(alert.tlp, message.topic.default_tlp)
        message.shared_with = sorted(scope) if scope is not None else None
        message.save(update_fields=["audience", "audience_centres", "audience_roles", "audience_users", "tlp",
                                    "shared_with"])
        broadcast_on_commit([topic_group(message.topic.slug)],
                            {"type": "message.updated", "message": message_out(message)}, audience)
