"""Every change to an alert: raise, acknowledge, change status, escalate.

Each action validates everything first (bad input changes nothing), writes inside one transaction,
records an `AlertEvent` (the history is append-only), and schedules its `alert` frame with
`broadcast_on_commit`, so no socket ever hears of an alert the database does not have. The web UI,
the token API and the worker all come through here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from alerts import indicators as indicator_rules
from alerts.frames import (
    AcknowledgementWire,
    AlertEntryWire,
    AlertEventName,
    AlertFrame,
    AlertWithdrawnFrame,
    StatusChangeWire,
)
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
    audience_of,
    can_add_entry,
    can_change_status,
    can_correct,
    fold,
    marking_audience,
    marking_scope,
    may_raise,
    recipient_centres,
    scope_of,
)
from alerts.serializers import acknowledgement_out, alert_out, entry_out, escalation_out
from hub.errors import CONFLICT, FORBIDDEN, INVALID, METHOD_NOT_ALLOWED, HubError, invalid
from hub.lib import inserts, ratelimit
from hub.lib.prefetch import hold_prefetched
from hub.lib.rendering import render_markdown
from hub.lib.text import clean_text
from hub.models import Centre, User
from hub.realtime.audience import Audience
from hub.realtime.groups import groups_for, user_group
from hub.realtime.publisher import broadcast_on_commit, broadcast_together_on_commit, withdrawal
from hub.sharing import tightest
from notify import services as notify

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
# Status workflow: an alert is mitigated, then closed (or closed at once); a mitigated or closed alert
# is reopened with a reason, because attackers come back.
TRANSITIONS = {
    Status.OPEN: {Status.MITIGATED, Status.CLOSED},
    Status.MITIGATED: {Status.CLOSED, Status.OPEN},
    Status.CLOSED: {Status.OPEN},
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
        value = _field(item, "value")
        if isinstance(value, str):  # the characters first (hub/lib/text.py), then the type's own rules
            value = clean_text(value, field=f"indicators.{i}.value", required=False, single_line=True)
        try:
            cleaned.append(indicator_rules.clean(type_, value))
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
        system = clean_text(system, field=f"affected_systems.{i}", max_length=MAX_SYSTEM_LENGTH, required=False,
                            single_line=True)
        if system and system not in result:
            result.append(system)
    if len(result) > MAX_SYSTEMS:
        raise invalid("affected_systems", gettext_lazy("at most %(n)s items."), n=MAX_SYSTEMS)
    return result


def _clean_shared_with(codes: Iterable[str], tlp: str, author: User) -> list[Centre]:
    codes = [c.strip().upper() for c in (codes or []) if isinstance(c, str) and c.strip()]
    if codes and tlp in (Tlp.CLEAR, Tlp.GREEN):
        raise invalid("shared_with", gettext_lazy(
            "only a TLP:AMBER, AMBER+STRICT or RED alert is shared with named centres; CLEAR and GREEN reach "
            "every centre."))
    # Most alerts name none (CLEAR and GREEN cannot): then there is nothing to read, nor a query to build.
    centres = {c.code: c for c in Centre.objects.filter(code__in=codes)} if codes else {}
    for i, code in enumerate(codes):
        if code not in centres:
            raise invalid(f"shared_with.{i}", gettext_lazy("no centre with code “%(centre)s”."), centre=code)
    # A RED alert naming no other centre stays in the raising centre (docs/authorisation.csv, "own");
    # the raising form says so before it is sent (issue 20: say who will see it). Raised outside any
    # centre it would reach nobody, so there it must name one.
    if tlp == Tlp.RED and not centres and author.centre_id is None:
        raise invalid("shared_with", gettext_lazy(
            "a TLP:RED alert raised outside any centre must name the centres to share with."))
    return list(centres.values())


def _search_text(alert: Alert, indicators: Sequence[indicator_rules.CleanIndicator | Indicator]) -> str:
    parts = [alert.title, alert.description, " ".join(alert.affected_systems), alert.recommended_actions,
             alert.centre.code if alert.centre is not None else ""]
    parts += [i.value for i in indicators]
    return fold("\n".join(parts))


def _broadcast(alert: Alert, event: AlertEventName, *, acknowledgement: AcknowledgementWire | None = None,
               change: StatusChangeWire | None = None, entry: AlertEntryWire | None = None,
               entries: list[AlertEntryWire] | None = None, notice_stored: bool = False,
               was: Audience | None = None) -> None:
    """The `alert` frame of a change, to the alert's audience; `was`: its audience before the change
    (a marking changed): the people the change left out get `alert.withdrawn` in the same hand-over
    (`hub.realtime.publisher.withdrawal`)."""
    audience = audience_of(alert)
    withdrawn: AlertWithdrawnFrame = {"type": "alert.withdrawn", "id": alert.pk}
    frame: AlertFrame = {"type": "alert", "event": event, "alert": alert_out(alert)}
    if acknowledgement is not None:
        frame["acknowledgement"] = acknowledgement
    if change is not None:
        frame["change"] = change
    if entry is not None:
        frame["entry"] = entry
    if entries is not None:
        frame["entries"] = entries
    broadcast_together_on_commit([(groups_for(audience), frame, audience),
                                  *withdrawal(withdrawn, before=was, after=audience)])
    # Email and webhooks: their outbox rows commit with the change (notify.services).
    if event == "raised":
        notify.alert_raised(alert=alert, stored=notice_stored)
    else:
        notify.alert_changed(alert=alert, event=event)


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
    from chat.selectors import get_topic
    from chat.services import create_topic, post_message

    # The topic is normally seeded (read with its allowed centres, as every topic request reads it);
    # creating it here (same definition, idempotent) means an alert is never lost for want of its
    # discussion place.
    topic = get_topic(SECURITY_TOPIC) or create_topic(**next(t for t in TOPICS if t["slug"] == SECURITY_TOPIC))
    scope = scope_of(alert)
    post_message(topic, by=author, body=summary_body(alert), client_id=f"alert-{alert.pk}",
                 audience=audience, tlp=tightest(alert.tlp, topic.default_tlp),
                 shared_with=sorted(scope) if scope is not None else None)


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
    origin: dict[str, Any] | None = None,
) -> Alert:
    """Store an alert, broadcast it to its TLP audience and post its summary in the security topic.
    `origin` is what a promotion quotes (chat.promotion) or the STIX bundle it came from."""
    if not may_raise(by):
        raise HubError(FORBIDDEN, gettext_lazy("Only security officers and hub admins raise alerts."))
    title = clean_text(title, field="title", max_length=MAX_TITLE, single_line=True)
    if severity not in Severity.values:
        raise invalid("severity", ONE_OF, values=", ".join(Severity.values))
    if tlp not in Tlp.values:
        raise invalid("tlp", ONE_OF, values=", ".join(Tlp.values))
    description = clean_text(description, field="description", max_length=MAX_TEXT, required=False, strip=False)
    recommended_actions = clean_text(recommended_actions, field="recommended_actions", max_length=MAX_TEXT,
                                     required=False, strip=False)
    cleaned = _clean_indicators(indicators)
    systems = _clean_systems(affected_systems)
    centres = _clean_shared_with(shared_with, tlp, by)
    # Its own, tighter bucket (hub/lib/ratelimit.py): an alert reaches every centre. Its summary in the
    # security topic is the author's message and costs a `post` token too: taken here with the alert's,
    # in the same Redis call (a bucket is charged once per request, so chat.services.post_message's
    # own charge then takes nothing more).
    ratelimit.charge("alert", "post")

    with transaction.atomic():
        alert = Alert(
            title=title, severity=severity, tlp=tlp,
            description=description or "", description_html=render_markdown(description or ""),
            recommended_actions=recommended_actions or "",
            recommended_actions_html=render_markdown(recommended_actions or ""),
            affected_systems=systems, raised_by=by, centre=by.centre, origin=origin,
        )
        alert.search_text = _search_text(alert, cleaned)
        written, raised, notice_stored = _write_raise(alert, cleaned, {
            "kind": AlertEvent.Kind.RAISED, "actor": by, "centre": by.centre, "after": Status.OPEN,
            "text": alert.description, "html": alert.description_html,
            "data": {"severity": severity, "tlp": tlp, "shared_with": sorted(c.code for c in centres),
                     "indicators": [_indicator_data(c) for c in cleaned],
                     **({"promoted_from": origin} if origin else {})}})
        if centres:  # a new alert shares with nobody yet: `set` would read its (empty) list first
            alert.shared_with.add(*centres)
        # What its frame, its audience, its notifications, its summary and the 201's detail read again
        # and again (raiser, centre, indicators, sharing) is what this transaction has just written:
        # held on the alert as a prefetch would hold it, not read back (three queries; issue 27).
        hold_prefetched(alert, "indicators", written)
        shared: list[Centre] = sorted(centres, key=lambda c: c.code)
        hold_prefetched(alert, "shared_with", shared)
        # Its record so far, for the raise's answer (`raised_entry`): read back it would be one query more.
        raised.alert, raised.actor, raised.centre = alert, alert.raised_by, alert.centre
        raised.corrected_by = []  # as alerts.selectors.timeline sets it
        alert._raised_entry = raised  # type: ignore[attr-defined]
        _broadcast(alert, "raised", notice_stored=notice_stored)
        _post_summary(alert, by, audience_of(alert))
    logger.info("alert %s raised by %s (%s, TLP:%s)", alert.pk, by, severity, tlp)
    return alert


def _write_raise(alert: Alert, cleaned: Sequence[indicator_rules.CleanIndicator],
                 entry: dict[str, Any]) -> tuple[list[Indicator], AlertEvent, bool]:
    """Store a new alert, its indicators and its record's first entry (`entry`: that entry's fields
    but its alert and time, which are the alert's) — and, on PostgreSQL, its notice (the notify
    app's outbox row, `notify.alert_notice`), all four in one statement, a data-modifying WITH
    (hub.lib.inserts): as four INSERTs they were four round trips, and building their SQL a sixth of
    a raise's CPU (issue 27, target 3). The rows are the ones `save()` and `bulk_create` wrote
    (tests/alerts/test_raise_rows.py); `pre_save` and `post_save` are sent for the alert, the entry
    and the notice as `save()` sends them (`bulk_create` sends none for the indicators). Elsewhere
    the notice is written by `notify.alert_raised`, as before. Returns the indicators, the entry
    and whether the notice is written."""
    def indicator_rows() -> list[Indicator]:
        return [Indicator(alert=alert, position=i, type=c.type, value=c.value, algorithm=c.algorithm,
                          created_at=alert.created_at) for i, c in enumerate(cleaned)]

    if connection.vendor != "postgresql":
        alert.save()
        written = Indicator.objects.bulk_create(indicator_rows())
        return written, AlertEvent.objects.create(alert=alert, at=alert.created_at, **entry), False
    table, column = inserts.quoted_table, inserts.quoted_column
    alert_columns, alert_values, params = inserts.row(alert)  # first: its pre_save sets created_at
    written = indicator_rows()
    raised = AlertEvent(alert=alert, at=alert.created_at, **entry)
    sql = [f"WITH a AS (INSERT INTO {table(Alert)} ({alert_columns}) VALUES ({alert_values}) "
           f"RETURNING {column(Alert, 'id')})"]
    if written:
        rows = [inserts.row(i, given={"alert": "a.id"}, signal=False) for i in written]
        sql.append(f", i AS (INSERT INTO {table(Indicator)} ({rows[0][0]}) SELECT v.* FROM a CROSS JOIN LATERAL "
                   f"(VALUES {', '.join(f'({values})' for _c, values, _p in rows)}) AS v "
                   f"RETURNING {column(Indicator, 'id')} AS id, {column(Indicator, 'position')} AS position)")
        params += [p for _c, _v, row_params in rows for p in row_params]
    entry_columns, entry_values, entry_params = inserts.row(raised, given={"alert": "a.id"})
    sql.append(f", e AS (INSERT INTO {table(AlertEvent)} ({entry_columns}) SELECT {entry_values} FROM a "
               f"RETURNING {column(AlertEvent, 'id')} AS id)")
    params += entry_params
    notice = notify.alert_notice(alert=alert)
    notice_columns, notice_values, notice_params = inserts.row(notice, given={"alert": "a.id"})
    sql.append(f", n AS (INSERT INTO {table(type(notice))} ({notice_columns}) SELECT {notice_values} FROM a "
               f"RETURNING {column(type(notice), 'id')} AS id)")
    params += notice_params
    indicator_ids = "ARRAY(SELECT i.id FROM i ORDER BY i.position)" if written else "NULL"
    sql.append(f" SELECT a.id, e.id, n.id, {indicator_ids} FROM a, e, n")
    with connection.cursor() as cursor:
        cursor.execute("".join(sql), params)
        alert_id, entry_id, notice_id, indicator_ids = cursor.fetchone()
    inserts.saved(alert, alert_id)
    for indicator, indicator_id in zip(written, indicator_ids or (), strict=True):
        inserts.saved(indicator, indicator_id, signal=False, alert_id=alert_id)
    inserts.saved(raised, entry_id, alert_id=alert_id)
    inserts.saved(notice, notice_id, alert_id=alert_id)
    return written, raised, True


def raised_entry(alert: Alert) -> AlertEvent | None:
    """The `raised` entry of an alert `raise_alert` has just returned (its whole record then), or None
    for any other alert object."""
    return getattr(alert, "_raised_entry", None)


def _indicator_data(indicator: Any) -> dict[str, str]:
    return {"type": indicator.type, "value": indicator.value}


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
    """Move an alert through open → mitigated → closed (409 otherwise); closed alerts stop escalating.
    Reopening (mitigated or closed → open) needs a reason, which the timeline keeps."""
    if not can_change_status(alert, by):
        raise HubError(FORBIDDEN, gettext_lazy(
            "Only the raising centre's security officers and managers, or hub admins, change an alert's status."))
    if to not in Status.values:
        raise invalid("to", ONE_OF, values=", ".join(Status.values))
    note = clean_text(note, field="note", max_length=MAX_NOTE, required=False)
    with transaction.atomic():
        locked = Alert.objects.select_for_update().get(pk=alert.pk)
        before = locked.status
        if to not in TRANSITIONS[Status(before)]:
            raise HubError(CONFLICT, gettext_lazy("An alert that is %(before)s cannot become %(to)s."),
                           extra={"current": before}, before=before, to=to)
        reopening = to == Status.OPEN
        if reopening and not note:
            raise invalid("note", gettext_lazy("a reason is required to reopen an alert."))
        locked.status = to
        locked.save(update_fields=["status", "updated_at"])
        kind = AlertEvent.Kind.REOPENED if reopening else AlertEvent.Kind.STATUS_CHANGED
        AlertEvent.objects.create(alert=locked, kind=kind, actor=by, centre=by.centre,
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


def due_step(alert: Alert, *, now: datetime) -> int:
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
            done += _escalate_alert(alert, due_step(alert, now=now), now)
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


def escalation_targets(alert: Alert, centre: Centre, *, step: int, now: datetime) -> tuple[str, list[User]]:
    """Whom step `step` of an unacknowledged alert reaches at `centre` (docs/duty.md): step 1 the
    deputy of the shift on duty now (the officer on duty already had the alert first) if they may
    stand it still (`duty.selectors.standing_deputy`) and may read the alert now (`audience_of`);
    step 2 and later, or step 1 without such a deputy, the centre's managers who may read it."""
    from duty.selectors import managers_of, standing_deputy

    audience = audience_of(alert)
    if step == 1:
        deputy = standing_deputy(centre, now)
        if deputy is not None and audience.allows(deputy):
            return "deputy", [deputy]
    return "managers", [m for m in managers_of(centre) if audience.allows(m)]


def _escalate_centre(alert: Alert, centre: Centre, step: int, now: datetime) -> Escalation | None:
    to, targets = escalation_targets(alert, centre, step=step, now=now)
    with transaction.atomic():
        try:
            with transaction.atomic():
                escalation = Escalation.objects.create(
                    alert=alert, centre=centre, step=step, at=now, notified=[m.username for m in targets]
                )
        except IntegrityError:  # another worker got there first
            return None
        AlertEvent.objects.create(alert=alert, kind=AlertEvent.Kind.ESCALATED, centre=centre,
                                  before="pending", after=f"step {step}",
                                  note=", ".join(escalation.notified), at=now,
                                  data={"step": step, "to": to, "notified": escalation.notified})
        if targets:
            frame: AlertFrame = {"type": "alert", "event": "escalated", "alert": alert_out(alert),
                                 "escalation": escalation_out(escalation)}
            # To the people reached (their own groups), with the alert's audience: each socket checks
            # it at delivery against the person as they are then, so someone who lost the right to
            # read the alert since they were chosen does not get it.
            broadcast_on_commit([user_group(m.pk) for m in sorted(targets, key=lambda m: m.pk)], frame,
                                audience_of(alert))
        # Email (the centre's managers and security officers per their preferences; at the deputy step the
        # deputy alone) and webhooks.
        notify.alert_escalated(alert=alert, centre=centre, step=step, people=targets if to == "deputy" else None)
    logger.warning("alert %s escalated to %s (step %s): %s", alert.pk, centre.code, step, escalation.notified)
    return escalation


# --- the timeline: notes, corrections and changes ----------------------------------------------------
# The alert row holds the current state (what lists and filters read); the timeline holds how it got
# there, and only ever grows. Each change below writes the new state and an entry in one transaction.


def _entry(alert: Alert, by: User | None, kind: str, **fields: Any) -> AlertEvent:
    return AlertEvent.objects.create(alert=alert, kind=kind, actor=by, centre=by.centre if by else None,
                                     at=timezone.now(), **fields)


def add_alert_entry(alert: Alert, *, by: User, text: Any, corrects: Any = None) -> AlertEvent:
    """A note on the record, or — with `corrects` — a correction of an earlier entry, which stays as
    it was (the page strikes it through and links here)."""
    if not can_add_entry(alert, by):
        raise HubError(FORBIDDEN, gettext_lazy("Only security officers and managers add entries to an alert's "
                                               "record."))
    if not isinstance(text, str) or not text.strip():
        raise invalid("text", gettext_lazy("must not be empty."))
    if len(text) > MAX_TEXT:
        raise invalid("text", AT_MOST_CHARACTERS, n=MAX_TEXT)
    corrected = None
    if corrects is not None:
        if isinstance(corrects, bool) or not isinstance(corrects, int):
            raise invalid("corrects", gettext_lazy("the id of an entry of this alert."))
        corrected = AlertEvent.objects.filter(pk=corrects, alert=alert).select_related("alert").first()
        if corrected is None:
            raise invalid("corrects", gettext_lazy("no entry %(id)s in this alert's record."), id=corrects)
        if not can_correct(corrected, by):
            raise HubError(FORBIDDEN, gettext_lazy("An entry is corrected by its author or by the raising centre."))
    with transaction.atomic():
        entry = _entry(alert, by, AlertEvent.Kind.NOTE, text=text, html=render_markdown(text), corrects=corrected)
        Alert.objects.filter(pk=alert.pk).update(updated_at=entry.at)
        fresh = Alert.objects.select_related("raised_by__centre", "centre").get(pk=alert.pk)
        _broadcast(fresh, "entry", entry=entry_out(entry))
    return entry


def refuse_rewrite() -> None:
    """What PATCH and DELETE of an entry answer (405): the record is append-only."""
    raise HubError(METHOD_NOT_ALLOWED, gettext_lazy(
        "An entry of an alert's record is never changed or deleted; add a correction (POST …/entries with "
        "\"corrects\") instead."))


CHANGEABLE = ("description", "severity", "tlp", "shared_with", "indicators", "note")


def update_alert(alert: Alert, *, by: User, changes: Mapping[str, Any]) -> Alert:
    """Change an alert's description, severity, TLP (and sharing scope) or indicators. Each change
    is an entry on the timeline with what it was and what it became; `note` says why. The alert's
    summary in the security topic follows a TLP change, so it is never wider than the alert."""
    if not can_change_status(alert, by):
        raise HubError(FORBIDDEN, gettext_lazy(
            "Only the raising centre's security officers and managers, or hub admins, change an alert."))
    unknown = sorted(set(changes) - set(CHANGEABLE))
    if unknown:
        raise invalid(unknown[0], gettext_lazy("cannot be changed here."))
    note = (changes.get("note") or "").strip()
    if len(note) > MAX_NOTE:
        raise invalid("note", AT_MOST_CHARACTERS, n=MAX_NOTE)
    with transaction.atomic():
        locked = Alert.objects.select_for_update(of=("self",)).select_related("centre", "raised_by").get(pk=alert.pk)
        changed: list[AlertEvent] = []
        was: Audience | None = None  # its audience before a change of marking
        if "description" in changes and (changes["description"] or "") != locked.description:
            text = changes["description"] or ""
            if not isinstance(text, str) or len(text) > MAX_TEXT:
                raise invalid("description", AT_MOST_CHARACTERS, n=MAX_TEXT)
            locked.description, locked.description_html = text, render_markdown(text)
            changed.append(_entry(locked, by, AlertEvent.Kind.DESCRIPTION, text=text, html=locked.description_html,
                                  note=note))
        if "severity" in changes and changes["severity"] != locked.severity:
            if changes["severity"] not in Severity.values:
                raise invalid("severity", ONE_OF, values=", ".join(Severity.values))
            changed.append(_entry(locked, by, AlertEvent.Kind.SEVERITY, before=locked.severity,
                                  after=changes["severity"], note=note))
            locked.severity = changes["severity"]
        if "tlp" in changes or "shared_with" in changes:
            was, entries = _change_sharing(locked, by, changes, note)
            changed += entries
        if "indicators" in changes:
            changed += _change_indicators(locked, by, changes["indicators"], note)
        if not changed:
            return alert
        locked.search_text = _search_text(locked, list(locked.indicators.all()))
        locked.save(update_fields=["description", "description_html", "severity", "tlp", "search_text",
                                   "updated_at"])
        audience = audience_of(locked)
        fresh = Alert.objects.select_related("raised_by__centre", "centre").get(pk=alert.pk)
        _broadcast(fresh, "updated", entries=[entry_out(e) for e in changed], was=was)
        _follow_summary(fresh, audience)
    return fresh


def _change_sharing(alert: Alert, by: User, changes: Mapping[str, Any],
                    note: str) -> tuple[Audience | None, list[AlertEvent]]:
    """A new TLP and sharing scope: the alert's audience before it (None when nothing changed) and the
    entry recording it."""
    tlp = changes.get("tlp") or alert.tlp
    if tlp not in Tlp.values:
        raise invalid("tlp", ONE_OF, values=", ".join(Tlp.values))
    before_codes = sorted(c.code for c in alert.shared_with.all())
    codes = changes["shared_with"] if changes.get("shared_with") is not None else (
        [] if tlp in (Tlp.CLEAR, Tlp.GREEN) else before_codes)
    centres = _clean_shared_with(codes or [], tlp, by)
    after_codes = sorted(c.code for c in centres)
    if tlp == alert.tlp and after_codes == before_codes:
        return None, []
    from chat.promotion import check_quote_floor

    before = audience_of(alert)
    # An alert quoting messages' text never reaches anyone they exclude, nor goes looser than their TLP.
    check_quote_floor(alert.origin, kind="alert", fields=["tlp", "shared_with"], tlp=tlp,
                      audience=marking_audience(tlp, marking_scope(tlp, after_codes, alert.centre.code
                                                                   if alert.centre is not None else None)),
                      before=before, before_tlp=alert.tlp)
    entry = _entry(alert, by, AlertEvent.Kind.TLP, before=alert.tlp, after=tlp, note=note,
                   data={"shared_with": {"before": before_codes, "after": after_codes}})
    alert.tlp = tlp
    alert.shared_with.set(centres)
    return before, [entry]


def _change_indicators(alert: Alert, by: User, items: Any, note: str) -> list[AlertEvent]:
    if not isinstance(items, list | tuple):
        raise HubError(INVALID, gettext_lazy("indicators: a list of {type, value}."), fields=["indicators"])
    cleaned = _clean_indicators(items)
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
    return [_entry(alert, by, AlertEvent.Kind.INDICATORS, note=note, data={
        "added": [_indicator_data(c) for c in added],
        "removed": [{"type": t, "value": v} for t, v in removed]})]


def _follow_summary(alert: Alert, audience: Audience) -> None:
    """The alert's summary message in the security topic gets the alert's current audience and
    marking: after a TLP change it reaches exactly who the alert reaches, no one else; the
    discussion under it (its thread's replies) is narrowed with it, never widened
    (chat.services.remark_thread)."""
    from chat.models import Message
    from chat.services import remark_thread

    scope = scope_of(alert)
    for message in Message.objects.filter(client_id=f"alert-{alert.pk}", author_id=alert.raised_by_id).select_related(
            "topic").select_for_update(of=("self",)):
        remark_thread(message, audience=audience, tlp=tightest(alert.tlp, message.topic.default_tlp),
                      shared_with=sorted(scope) if scope is not None else None)
