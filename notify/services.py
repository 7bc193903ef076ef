"""Recording what concerns whom, and the person's own changes (preferences, seen, webhooks).

The recording functions (`alert_raised`, `alert_escalated`, `mentioned`, `ticket_changed`) are
called by the alerts, chat and requests services *inside* their transaction: what they write commits
with the event or not at all, and nothing here talks to a mail server or a receiver (the worker does,
notify.delivery and notify.webhooks). Most write the in-hub `Notification` rows, the `Email` outbox
rows and the `WebhookDelivery` rows at once; a raised alert, whose readers may be everyone in the
hub, writes one `AlertNotice` instead, which `expand_alert_notices` (the job `notify.alerts`) turns
into those rows within seconds, deciding the readers then. What goes in a mail or a webhook body is
decided at delivery, from the recipient's rights then.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, time
from time import monotonic
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.conf import settings as django_settings
from django.db import connection, transaction
from django.db.models import Field, Model, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hub.errors import INVALID, NOT_FOUND, HubError
from hub.lib.compiled_queries import CompiledQuery, model_fields
from hub.models import Centre, Role, User, person_from_row
from hub.selectors import centres_by_id
from notify import preferences as prefs
from notify.models import (
    AlertNotice,
    Channel,
    Digest,
    Email,
    Kind,
    Notification,
    NotifySettings,
    Preference,
    TopicLevel,
    TopicSetting,
)

if TYPE_CHECKING:
    from alerts.models import Alert
    from chat.models import Message, Topic
    from requests.models import Ticket, TicketEvent

logger = logging.getLogger(__name__)

_Row = TypeVar("_Row", bound=Model)

# Channels that leave a notification in the hub (everything but "off").
RECORDED = frozenset({Channel.HUB, Channel.BROWSER, Channel.EMAIL, Channel.DIGEST})
# An alert is always on /alerts/ and in every open tab's banner: "in the hub only" needs no row of its
# own for each reader (a TLP:CLEAR alert would otherwise write one per person in the hub).
RECORDED_ALERT = frozenset({Channel.BROWSER, Channel.EMAIL, Channel.DIGEST})


def _active(qs: QuerySet[User]) -> QuerySet[User]:
    return qs.filter(is_active=True).select_related("centre")


# --- alerts ----------------------------------------------------------------------------------------


# The fields of a person that deciding an alert's readers (Audience.allows), ordering them
# (`_recipient_order`) and recording their notifications and emails read.
READER_FIELDS = ("id", "role", "is_superuser", "is_active", "username", "email", "centre_id", "centre__id",
                 "centre__code")


def on_duty_ids(people: Iterable[User]) -> set[int]:
    """The officers on duty now at the centres of `people` (duty.selectors, one query: the people come
    with their centres, `_active`)."""
    from duty.selectors import duty_states

    centres = {p.centre_id: p.centre for p in people if p.centre_id and p.centre is not None}
    if not centres:
        return set()
    states = duty_states(centres=list(centres.values()))
    return {s.shift.officer_id for s in states if s.shift is not None}


def _recipient_order(on_duty: set[int]) -> Callable[[User], tuple[bool, bool, str, str]]:
    """The on-duty officers first, then the other security officers, then the rest: the outbox is
    sent in this order."""
    return lambda p: (p.pk not in on_duty, p.role != Role.SECURITY_OFFICER,
                      p.centre.code if p.centre is not None else "", p.username)


def alert_notice(*, alert: Alert) -> AlertNotice:
    """A new alert's outbox row (`alert_raised`), not stored yet: on PostgreSQL the raise writes it
    in the statement that writes the alert (alerts.services._write_raise), then says so to
    `alert_raised(stored=True)`."""
    return AlertNotice(alert=alert, created_at=alert.created_at)


def alert_raised(*, alert: Alert, stored: bool = False) -> None:
    """A new alert: ONE outbox row ("tell its audience"), in the raise's transaction (`stored`: the
    raise wrote it already, `alert_notice`). The alert's
    live frame has already been scheduled for every reader (alerts.services); the notifications,
    the emails and the webhook deliveries are written by `expand_alert_notices` within seconds,
    outside the request, for the readers it has then (issue 27, target 3: with ~1,000 readers they
    were most of a raise's cost). On commit this process's job runner is woken, so an embedded
    server (`make run`) expands after HUB_ALERT_NOTIFY_SECONDS instead of at its next tick."""
    if not stored:
        alert_notice(alert=alert).save()
    from hub.jobs import wake

    transaction.on_commit(lambda: wake(after=django_settings.HUB_ALERT_NOTIFY_SECONDS))


class _PassReads:
    """What one expansion pass reads once for all its alerts: for each shape of audience (every
    centre; some centres; some roles) the active people who may be in it, in recipient order, with
    the officers on duty among them; each kind's channels; the mail settings of those who chose
    email and when quiet hours hold their email. A burst of alerts to everyone reads its readers
    once, not once per alert."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._people: dict[tuple[Any, Any], tuple[list[User], set[int]]] = {}
        self._channels: dict[tuple[tuple[Any, Any], str], dict[int, str]] = {}
        self._settings: dict[int, NotifySettings] = {}
        self._held: dict[int, datetime | None] = {}
        self.webhooks: list[Any] | None = None

    def readers(self, alert: Alert) -> tuple[list[User], set[int], tuple[Any, Any]]:
        """Everyone who may read the alert now, but its raiser, in recipient order; the officers on
        duty among them; the key of their audience's shape (an alert's audience has no named users,
        so the shape decides `Audience.allows` for every alert of it: decided once per pass)."""
        from alerts.selectors import audience_of

        audience = audience_of(alert)
        key = (audience.centres, audience.roles)
        if key not in self._people:
            people = [p for p in _candidates(audience) if audience.allows(p)]
            on_duty = on_duty_ids(people)
            people.sort(key=_recipient_order(on_duty))
            self._people[key] = (people, on_duty)
        people, on_duty = self._people[key]
        raiser = alert.raised_by_id
        return [p for p in people if p.id != raiser], on_duty, key

    def channels(self, key: tuple[Any, Any], kind: str) -> dict[int, str]:
        if (key, kind) not in self._channels:
            self._channels[key, kind] = prefs.channels(self._people[key][0], kind)
        return self._channels[key, kind]

    def held_until(self, person: User) -> datetime | None:
        """When quiet hours let the person's email go (None: now). Read for everyone who chose
        email in this pass at once."""
        if person.pk not in self._held:
            if person.pk not in self._settings:
                wanted = {uid for chosen in self._channels.values() for uid, channel in chosen.items()
                          if channel == Channel.EMAIL}
                self._settings.update(prefs.settings_by_user((wanted | {person.pk}) - set(self._settings)))
            self._held[person.pk] = prefs.quiet_until(self._settings[person.pk], self.now, centre=person.centre_id)
        return self._held[person.pk]


def _candidates(audience: Any) -> list[User]:
    """The active people an audience may contain, narrowed by the database; `Audience.allows`
    decides (the one rule). Only the fields deciding, ordering and recording read."""
    qs = _active(User.objects.all()).only(*READER_FIELDS)
    if audience.centres is not None:
        qs = qs.filter(Q(centre__code__in=audience.centres) | Q(is_superuser=True) | Q(role=Role.HUB_ADMIN))
    elif audience.roles is not None:
        qs = qs.filter(Q(role__in=audience.roles) | Q(is_superuser=True) | Q(role=Role.HUB_ADMIN))
    return list(qs)


def expand_alert_notices(*, now: datetime | None = None, limit: int = 500, budget: float | None = None) -> int:
    """Expand the pending alert notices, oldest first (the job `notify.alerts`; tests call it
    directly): for each, a notification for each reader *now* whose preference for its severity is
    not "off" or "in the hub only"; an email for those who chose email (quiet hours hold it, except
    a critical alert or for the officer on duty); the centres' webhook deliveries. Rights are
    decided here, at delivery: someone who lost the right since the alert was raised gets nothing.

    Each notice in its own transaction, which first claims it (a conditional UPDATE: a second
    process, or a pass cut short and repeated, finds it expanded and writes nothing) and then
    writes its rows; a failure leaves that notice pending for the next pass. Returns how many
    notices this pass expanded. With `budget` (seconds) the pass stops after the notice that used it
    up and leaves the rest pending (`pending_alert_notices`): the job `notify.alerts` runs in slices,
    so the other jobs of its thread do not wait behind a burst's thousand notices."""
    from alerts.models import Alert

    started = monotonic()

    now = now or timezone.now()
    pending = list(AlertNotice.objects.filter(expanded_at__isnull=True).order_by("id")
                   .values_list("pk", "alert_id")[:limit])
    if not pending:
        return 0
    alerts = {a.pk: a for a in Alert.objects.filter(pk__in=[alert_id for _pk, alert_id in pending])
              .select_related("centre").prefetch_related("shared_with")}
    reads = _PassReads(now)
    expanded = emailed = 0
    for pk, alert_id in pending:
        alert = alerts.get(alert_id)
        if alert is None:  # deleted meanwhile (its notice goes with it)
            continue
        try:
            wrote = _expand_one(pk, alert, reads)
        except Exception:
            logger.exception("alert notice %s (alert %s) could not be expanded; it stays pending", pk, alert_id)
            continue
        if wrote is not None:
            expanded += 1
            emailed += wrote
        if budget is not None and monotonic() - started >= budget:
            break
    if emailed:  # the alert emails go at the next tick, not at the mail job's next period
        from hub.jobs import force_due

        force_due("notify.send_email")
    return expanded


def pending_alert_notices() -> bool:
    """Whether some raised alert's notice still waits to be expanded."""
    return AlertNotice.objects.filter(expanded_at__isnull=True).exists()


def _expand_one(pk: int, alert: Alert, reads: _PassReads) -> int | None:
    """One notice: its rows, after claiming it. None if another pass had it; else emails queued."""
    readers, on_duty, key = reads.readers(alert)
    kind = prefs.alert_kind(alert.severity)
    chosen = reads.channels(key, kind)
    people = [p for p in readers if chosen[p.id] in RECORDED_ALERT]
    with transaction.atomic():
        claimed = AlertNotice.objects.filter(pk=pk, expanded_at__isnull=True).update(
            expanded_at=timezone.now(), notified=len(people))
        if not claimed:
            return None
        emails = _record_alert(alert, people, kind, Notification.Type.ALERT, Email.Type.ALERT, verb="raised",
                               detail={}, bypass_quiet=alert.severity == "critical", on_duty=on_duty,
                               chosen=chosen, held_until=reads.held_until, now=reads.now,
                               created_at=alert.created_at)
        from notify.webhooks import enqueue_alert

        if reads.webhooks is None:
            from notify.webhooks import subscribed_to_alerts

            reads.webhooks = subscribed_to_alerts()
        enqueue_alert(alert=alert, event="alert.raised", webhooks=reads.webhooks)
    return emails


def alert_escalated(*, alert: Alert, centre: Centre, step: int, people: list[User] | None = None) -> None:
    """A centre has not acknowledged: its managers and security officers hear of it as it happens
    (or only `people`: the first step reaches the deputy on duty alone, docs/duty.md)."""
    if people is None:
        people = list(_active(User.objects.filter(centre=centre, role__in=[Role.MANAGER, Role.SECURITY_OFFICER])))
    from alerts.selectors import audience_of

    audience = audience_of(alert)
    people = [p for p in people if audience.allows(p)]
    on_duty = on_duty_ids(people)
    people.sort(key=_recipient_order(on_duty))
    _record_alert(alert, people, Kind.ESCALATION, Notification.Type.ESCALATION, Email.Type.ESCALATION,
                  verb=f"escalated:{step}", detail={"centre": centre.code, "step": step},
                  bypass_quiet=alert.severity == "critical", on_duty=on_duty)
    from notify.webhooks import enqueue_alert

    enqueue_alert(alert=alert, event="alert.escalated")


def alert_changed(*, alert: Alert, event: str) -> None:
    """Acknowledgements and status changes: only the webhooks (people see them in the hub)."""
    from notify.webhooks import enqueue_alert

    enqueue_alert(alert=alert, event=f"alert.{event}")


def _record_alert(alert: Alert, people: list[User], kind: str, ntype: str, etype: str, *, verb: str,
                  detail: dict[str, Any], bypass_quiet: bool, on_duty: set[int],
                  chosen: dict[int, str] | None = None,
                  held_until: Callable[[User], datetime | None] | None = None,
                  now: datetime | None = None, created_at: datetime | None = None) -> int:
    """The notifications and emails of `people` (in recipient order) about an alert; returns how
    many emails were queued. An expansion pass hands in what it read once for all its alerts
    (`chosen`, `held_until`); `created_at` is when the notifications' event happened."""
    if not people:
        return 0
    now = now or timezone.now()
    if chosen is None:
        chosen = prefs.channels(people, kind)
    if held_until is None:
        settings_by = prefs.settings_by_user(p.pk for p in people if chosen[p.pk] == Channel.EMAIL)

        def held_until(person: User) -> datetime | None:
            return prefs.quiet_until(settings_by[person.pk], now, centre=person.centre_id)

    emails: dict[int, Email] = {}
    for person in people:
        if chosen[person.id] != Channel.EMAIL or not person.email:
            continue
        # The officer on duty has no quiet hours for alerts: being reachable is what duty means.
        held = None if bypass_quiet or person.pk in on_duty else held_until(person)
        emails[person.pk] = Email(user=person, type=etype, alert=alert, detail=detail, not_before=held or now,
                                  created_at=now)
    # In recipient order, so the outbox (read in id order) mails the security officers first.
    created = {e.user_id: e.pk for e in _bulk_create(Email, list(emails.values()))}
    users = [person.id for person in people if chosen[person.id] in RECORDED_ALERT]
    _insert_notifications(users, [chosen[u] for u in users], [created.get(u) for u in users],
                          alert=alert.pk, ntype=ntype, verb=verb, now=created_at or now)
    return len(created)


def _insert_notifications(users: list[int], channels: list[str], emails: list[int | None] | None, *, ntype: str,
                          verb: str, now: Any, alert: int | None = None, actor: int | None = None,
                          message: int | None = None) -> None:
    """In-hub notifications: one row per (person, channel, email id or none), ids in this order, the
    other columns the same in every row. On PostgreSQL one `INSERT … SELECT` over arrays:
    `bulk_create` prepared each of a row's values in Python — a TLP:CLEAR alert reaches everyone,
    and with 1,000 readers that was most of the CPU of raising it (docs/benchmarks.md, "Alert
    bursts"); for a threaded reply's ten participants it was a fifth of the reply's CPU ("Issue
    26"). The arrays are sent as array literals of integers and channel names (`_array`): psycopg's
    adaptation of a Python list walks it in Python, ~1/4 of an expansion's CPU with 1,000 readers.
    Elsewhere `bulk_create`; the rows are the same (tests/notify/test_alert_rows.py,
    tests/notify/test_mention_rows.py)."""
    if not users:
        return
    fixed = {"type": ntype, "verb": verb, "created_at": now, "alert": alert, "actor": actor, "message": message}
    if connection.vendor != "postgresql":
        _bulk_create(Notification, [
            Notification(user_id=user_id, type=ntype, channel=channel, alert_id=alert, actor_id=actor,
                         message_id=message, verb=verb, created_at=now, email_id=email_id)
            for user_id, channel, email_id in zip(users, channels, emails or [None] * len(users), strict=True)])
        return
    meta = Notification._meta
    quote = connection.ops.quote_name

    def column(name: str) -> str:
        return quote(str(cast("Field[Any, Any]", meta.get_field(name)).column))

    named = [name for name, value in fixed.items() if value is not None]
    columns = ", ".join(column(name) for name in ("user", "channel", *(["email"] if emails is not None else []),
                                                  *named))
    values = ", ".join(["r.u", "r.c", *(["r.e"] if emails is not None else []), *(["%s"] * len(named))])
    arrays = [_array(users), _array(channels), *([_array(emails)] if emails is not None else [])]
    unnest = ", ".join(["%s::bigint[]", "%s::text[]", *(["%s::bigint[]"] if emails is not None else [])])
    names = "u, c, e, n" if emails is not None else "u, c, n"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(meta.db_table)} ({columns}) SELECT {values} "
            f"FROM unnest({unnest}) WITH ORDINALITY AS r({names}) ORDER BY r.n",
            [*(fixed[name] for name in named), *arrays])


def _array(values: list[int] | list[str] | list[int | None]) -> str:
    """A PostgreSQL array literal of integers (None: NULL) or of channel names (`Channel` values:
    letters only, so nothing to quote — checked, not assumed)."""
    items = ["NULL" if value is None else str(value) for value in values]
    if any(not item.isalnum() for item in items):
        raise ValueError("an array literal of integers or channel names only")
    return "{" + ",".join(items) + "}"


def _bulk_create(model: type[_Row], rows: list[_Row]) -> list[_Row]:
    """bulk_create that leaves primary keys set on SQLite and PostgreSQL alike."""
    if not rows:
        return []
    return model._default_manager.bulk_create(rows)  # `objects`, the models' only manager


# --- chat --------------------------------------------------------------------------------------------


# A mention's or a reply's possible recipients, each with their centre, their level for the topic and
# their own channel for mentions, in one statement compiled once (hub.lib.compiled_queries): read
# with the ORM as three statements built each time (the people, their levels, their channels) it was
# a third of a threaded reply's CPU (docs/benchmarks.md, "Issue 26"). The id list is padded to a
# power of two (`_padded`), so that at most a dozen SQL texts are ever built.
_READER_COLUMNS = (*model_fields(User), *model_fields(Centre, "centre__"))
_MENTION_READERS = CompiledQuery(
    lambda ids, topic_id: User.objects.filter(pk__in=ids, is_active=True)
    .annotate(topic_level=Subquery(TopicSetting.objects.filter(user_id=OuterRef("pk"), topic_id=topic_id)
                                   .values("level")[:1]),
              own_channel=Subquery(Preference.objects.filter(user_id=OuterRef("pk"), kind=Kind.MENTION)
                                   .values("channel")[:1]))
    .values_list(*_READER_COLUMNS, "topic_level", "own_channel"),
    arity=2)


def _padded(ids: list[int]) -> list[int]:
    """`ids` (not empty) repeated at the end up to the next power of two: `IN` reads the same rows."""
    size = 1 << (len(ids) - 1).bit_length()
    return ids + [ids[-1]] * (size - len(ids))


def mention_channels(*, topic_id: int, recipients: Iterable[int], direct: Iterable[int] = (),
                     may_read: Callable[[User], bool] | None = None) -> dict[int, str]:
    """Who of `recipients` gets a notification about a message of the topic, and on which channel:
    reads only (one statement), so a caller may decide before its transaction's locks
    (chat.services: a thread's participants are chosen before the topic's row lock) and record with
    `record_mentions` inside it. Only active people, and of them only those `may_read` admits
    (the caller's rule: they may read the message). `direct` are the ones named personally
    (@username, a reply to their thread): a topic followed for "mentions only" lets only those
    through; a muted topic lets nothing through."""
    ids = sorted(set(recipients))
    if not ids:
        return {}
    direct_ids = set(direct)
    chosen: dict[int, str] = {}
    width = len(_READER_COLUMNS)
    for row in _MENTION_READERS.rows(_padded(ids), topic_id):
        level, own = row[width], row[width + 1]
        if prefs.muted(level) or (row[0] not in direct_ids and prefs.mentions_only(level)):
            continue
        person = person_from_row(row[:width])
        if may_read is not None and not may_read(person):
            continue
        channel = prefs.channel_of(person, own, Kind.MENTION)
        if channel in RECORDED:
            chosen[person.pk] = channel
    return dict(sorted(chosen.items()))


def record_mentions(*, message: Message, channels: Mapping[int, str], verb: str = "mention") -> None:
    """The notifications `mention_channels` chose, recorded in the message's transaction (one insert,
    `_insert_notifications`)."""
    users = list(channels)
    _insert_notifications(users, [channels[u] for u in users], None, ntype=Notification.Type.MENTION,
                          verb=verb, now=timezone.now(), actor=message.author_id, message=message.pk)


def mentioned(*, message: Message, recipients: Iterable[int], direct: Iterable[int] = (),
              verb: str = "mention") -> None:
    """People mentioned in (or replied to by) a message. `recipients` already excludes the author and
    anyone who may not read the message (chat.services); `direct` as in `mention_channels`."""
    record_mentions(message=message, verb=verb,
                    channels=mention_channels(topic_id=message.topic_id, recipients=recipients, direct=direct))


# --- requests ----------------------------------------------------------------------------------------


def ticket_people(ticket: Ticket, *, event: TicketEvent) -> list[User]:
    """Who a change to a request concerns: its requester, assignee, watchers and the people who
    commented; for a new request, the target centre's managers too. Never the one who acted; only
    people who may read the change itself (`requests.selectors.may_read_event`: the ticket, and for
    an internal event its own centre, for a comment or an attachment that item's TLP and scope)."""
    from requests.models import Comment, TicketEvent
    from requests.selectors import audience_of, items_of, may_read_event

    ids = {ticket.requested_by_id, ticket.assignee_id}
    ids |= set(ticket.watchers.values_list("pk", flat=True))
    ids |= set(Comment.objects.filter(ticket=ticket, internal=False).values_list("author_id", flat=True))
    query = Q(pk__in=[i for i in ids if i])
    if event.kind == TicketEvent.Kind.CREATED and ticket.target_centre_id:
        query |= Q(centre_id=ticket.target_centre_id, role=Role.MANAGER)
    candidates = _active(User.objects.filter(query))
    if event.actor_id is not None:  # the hub's own events (an SLA reminder) have no actor
        candidates = candidates.exclude(pk=event.actor_id)
    readers = audience_of(ticket)  # the ticket's readers, decided once for everyone
    items = items_of([event])
    centres = centres_by_id() if event.internal else None  # an internal item names its centre by id
    return [p for p in candidates
            if readers.allows(p) and may_read_event(p, ticket, event, items, readers, centres)]


def ticket_changed(*, ticket: Ticket, event: TicketEvent) -> None:
    """A request changed: a notification for each person it concerns (per their "requests"
    preference), and the centres' webhooks for a public change."""
    people = ticket_people(ticket, event=event)
    chosen = prefs.channels(people, Kind.TICKET)
    now = timezone.now()
    _bulk_create(Notification, [
        Notification(user=p, type=Notification.Type.TICKET, channel=chosen[p.pk], actor_id=event.actor_id,
                     ticket=ticket, ticket_event=event, verb=event.kind, created_at=now)
        for p in people if chosen[p.pk] in RECORDED
    ])
    if not event.internal:
        from notify.webhooks import enqueue_ticket

        enqueue_ticket(ticket=ticket, event=event)


# --- seen ----------------------------------------------------------------------------------------------


def mark_seen(*, user: User, alert_id: int | None = None, ticket_id: int | None = None, up_to: int | None = None,
              everything: bool = False) -> int:
    """The person looked: at an alert, a request, their notifications up to an id, or all of them.
    Seen notifications are not emailed (the unseen rule). Returns how many were marked."""
    qs = Notification.objects.filter(user=user, seen_at__isnull=True)
    if alert_id is not None:
        qs = qs.filter(alert_id=alert_id)
    elif ticket_id is not None:
        qs = qs.filter(ticket_id=ticket_id)
    elif up_to is not None:
        qs = qs.filter(pk__lte=up_to)
    elif not everything:
        return 0
    return qs.update(seen_at=timezone.now())


def mark_read_mentions(*, user_id: int, topic_id: int, up_to: int) -> int:
    """A topic read up to a message: its mentions up to there are seen — not those of replies shown
    only in their thread (reading the channel did not show them; `mark_read_thread` does)."""
    return (Notification.objects.filter(user_id=user_id, message__topic_id=topic_id, message_id__lte=up_to,
                                        seen_at__isnull=True)
            .exclude(message__thread_root__isnull=False, message__also_channel=False)
            .update(seen_at=timezone.now()))


def mark_read_thread(*, user_id: int, root_id: int, up_to: int) -> int:
    """A thread read up to a reply: the notifications of its replies up to there are seen."""
    return Notification.objects.filter(user_id=user_id, message__thread_root_id=root_id, message_id__lte=up_to,
                                       seen_at__isnull=True).update(seen_at=timezone.now())


# --- preferences ---------------------------------------------------------------------------------------


def _parse_time(value: Any, field: str) -> time:
    if isinstance(value, time):
        return value
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise HubError(INVALID, _("%(field)s: a time such as 07:30."), fields=[field], field=field) from None


def update_preferences(*, user: User, channels: dict[str, str] | None = None, language: str | None = None,
                       quiet_hours: bool | None = None, own_hours: bool | None = None,
                       work_start: Any = None, work_end: Any = None,
                       work_days: list[Any] | None = None, digest: str | None = None,
                       topics: dict[str, str] | None = None) -> NotifySettings:
    """Change what the person is told and how; everything is checked before anything is written."""
    channels = channels or {}
    for kind, channel in channels.items():
        if kind not in Kind.values:
            raise HubError(INVALID, _("channels: unknown kind %(kind)s."), fields=[f"channels.{kind}"], kind=kind)
        if channel not in prefs.OFFERED[kind]:
            raise HubError(INVALID, _("channels.%(kind)s: one of %(choices)s."), fields=[f"channels.{kind}"],
                           kind=kind, choices=", ".join(prefs.OFFERED[kind]))
    if language is not None and language not in dict(django_settings.LANGUAGES):
        raise HubError(INVALID, _("language: vi or en."), fields=["language"])
    if digest is not None and digest not in Digest.values:
        raise HubError(INVALID, _("digest: off, daily or weekly."), fields=["digest"])
    start = _parse_time(work_start, "work_start") if work_start is not None else None
    end = _parse_time(work_end, "work_end") if work_end is not None else None
    if work_days is not None and (not isinstance(work_days, list) or any(
            isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6 for d in work_days)):
        raise HubError(INVALID, _("work_days: days of the week, 0 (Monday) to 6 (Sunday)."), fields=["work_days"])
    topic_rows = _clean_topic_levels(user, topics or {})
    with transaction.atomic():
        current, _created = NotifySettings.objects.select_for_update().get_or_create(user=user)
        if digest is not None and digest != current.digest:
            # The first digest covers what happens from now on, at its next due time (notify.delivery).
            current.digest_sent_at = timezone.now()
        if language is not None:  # the same preference the header's language switch stores (hub.i18n)
            User.objects.filter(pk=user.pk).update(language=language)
            user.language = language
        for name, value in (("quiet_hours", quiet_hours), ("own_hours", own_hours), ("work_start", start),
                            ("work_end", end), ("digest", digest)):
            if value is not None:
                setattr(current, name, value)
        if work_days is not None:
            current.work_days = sorted(set(work_days))
        if current.work_start >= current.work_end:
            raise HubError(INVALID, _("work_end: the working day must end after it starts."), fields=["work_end"])
        current.save()
        for kind, channel in channels.items():
            Preference.objects.update_or_create(user=user, kind=kind, defaults={"channel": channel})
        for topic, level in topic_rows:
            if level == TopicLevel.ALL:
                TopicSetting.objects.filter(user=user, topic=topic).delete()
            else:
                TopicSetting.objects.update_or_create(user=user, topic=topic, defaults={"level": level})
    return current


def _clean_topic_levels(user: User, levels: dict[str, str]) -> list[tuple[Topic, str]]:
    from chat.models import Topic
    from chat.selectors import can_view_topic

    rows: list[tuple[Topic, str]] = []
    for slug, level in levels.items():
        if level not in TopicLevel.values:
            raise HubError(INVALID, _("topics.%(slug)s: one of all, mentions, mute."), fields=[f"topics.{slug}"],
                           slug=slug)
        topic = Topic.objects.filter(slug=slug).first()
        if topic is None or not can_view_topic(user, topic):
            raise HubError(NOT_FOUND, _("No such topic: %(slug)s."), fields=[f"topics.{slug}"], slug=slug)
        rows.append((topic, level))
    return rows


def unsubscribe(*, user_id: int, what: str) -> User | None:
    """The one-click unsubscribe (RFC 8058): that kind of email stops; the hub still shows it."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    if what == "digest":
        update_preferences(user=user, digest=Digest.OFF)
    elif what == "batch":
        update_preferences(user=user, channels={Kind.MENTION: Channel.HUB, Kind.TICKET: Channel.HUB})
    elif what in Kind.values:
        update_preferences(user=user, channels={what: Channel.HUB})
    else:
        return None
    logger.info("user %s unsubscribed from %s email", user.username, what)
    return user


def event_reminder(*, event_id: int, people: list[User], now: datetime | None = None) -> list[User]:
    """An event starts soon (events.services.send_reminders, inside its transaction): an outbox email
    for each registrant whose channel for event reminders is email — held by their quiet hours and
    retried like every other (notify.delivery), rendered at delivery in their language and dropped
    then if the event was cancelled, has started, or they withdrew. Returns the people to tell in
    the hub (everyone whose channel is not "off")."""
    now = now or timezone.now()
    chosen = prefs.channels(people, Kind.EVENT)
    mailed = [p for p in people if chosen[p.pk] == Channel.EMAIL and p.email]
    settings_by = prefs.settings_by_user(p.pk for p in mailed)
    _bulk_create(Email, [
        Email(user=p, type=Email.Type.EVENT, detail={"event": event_id}, created_at=now,
              not_before=prefs.quiet_until(settings_by[p.pk], now, centre=p.centre_id) or now)
        for p in mailed
    ])
    return [p for p in people if chosen[p.pk] != Channel.OFF]


def send_test_email(*, user: User) -> Email:
    """Queue a test email to the person (the preferences page's "send me a test")."""
    if not user.email:
        raise HubError(INVALID, _("You have no email address in the hub; ask a hub admin to add it."),
                       fields=["email"])
    return Email.objects.create(user=user, type=Email.Type.TEST)

