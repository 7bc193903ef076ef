"""Every change to topics and messages: validate, store in a transaction, broadcast after commit.

The HTTP API and the WebSocket consumer call these same functions, so a message posted over HTTP is
broadcast exactly as one sent over a socket, and a client never receives a frame for data the
database does not hold (`hub.realtime.publisher.broadcast_on_commit`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from chat.files import attach, check_files, store_files
from chat.frames import (
    MembersFrame,
    MentionFrame,
    Mentions,
    MessageDeletedFrame,
    MessageFrame,
    MessageUpdatedFrame,
    MessageWire,
    MessageWithdrawnFrame,
    PinnedFrame,
    ReactionsFrame,
    ReadFrame,
    ThreadUpdatedFrame,
)
from chat.models import (
    ConversationMember,
    Mention,
    Message,
    MessageAttachment,
    MessageRevision,
    Pin,
    Reaction,
    ReadMarker,
    ThreadReadMarker,
    Topic,
)
from chat.rendering import Rendered, render_body
from chat.selectors import (
    anchor_id,
    can_view_topic,
    conversation_members,
    find_conversation,
    history_audience,
    latest_message_id,
    may_pin,
    member_cutoffs,
    message_visible,
    my_history_after,
    reactions_of,
    ready_for_wire,
    thread_state,
)
from chat.serializers import author_out, message_out
from chat.text import search_text
from hub.errors import CONFLICT, FORBIDDEN, INVALID, NOT_FOUND, HubError
from hub.lib import inserts, ratelimit
from hub.lib.compiled_queries import CompiledQuery, model_fields, model_from_row
from hub.lib.inputs import MAX_ID
from hub.lib.jsonutil import timestamp
from hub.lib.text import clean_text
from hub.lib.uploads import delete_stored, removed_on_failure
from hub.models import Centre, Role, User
from hub.realtime.audience import Audience
from hub.realtime.groups import topic_group, user_group
from hub.realtime.publisher import (
    Broadcast,
    broadcast_control_on_commit,
    broadcast_on_commit,
    broadcast_together_on_commit,
    published_in_commit_order,
    withdrawal,
)
from hub.services import ACCESS_CHANGED, topic_access_changed
from hub.sharing import Tlp, clean_shared_with, clean_tlp, scope_audience, tightest

CLIENT_ID_MAX = 64


# --- topics -------------------------------------------------------------------------------------

def create_topic(
    *, slug: str, name_vi: str, name_en: str, kind: str = Topic.Kind.CHANNEL, description: str = "",
    description_en: str = "", allowed_roles: Iterable[str] = (), allowed_centres: Iterable[Centre | str] = (),
    default_tlp: str = Tlp.GREEN, pin_roles: Iterable[str] = (),
) -> Topic:
    """Create a topic, or return the existing one with that slug unchanged (idempotent on slug)."""
    if not slug or slugify(slug) != slug:
        raise HubError(INVALID, _("slug must be lower-case letters, digits and hyphens."), fields=["slug"])
    if kind not in Topic.Kind.values:
        raise HubError(INVALID, _("kind must be one of %(kinds)s."), fields=["kind"],
                       kinds=", ".join(Topic.Kind.values))
    roles = list(dict.fromkeys(allowed_roles))
    pinners = list(dict.fromkeys(pin_roles))
    for field, values in (("allowed_roles", roles), ("pin_roles", pinners)):
        unknown = [r for r in values if r not in Role.values]
        if unknown:
            raise HubError(INVALID, _("unknown role(s): %(roles)s."), fields=[field],
                           roles=", ".join(map(str, unknown)))
    codes = [c.code if isinstance(c, Centre) else c for c in allowed_centres]
    centres = list(Centre.objects.filter(code__in=codes))
    if len(centres) != len(set(codes)):
        raise HubError(INVALID, _("unknown centre code in allowed_centres."), fields=["allowed_centres"])
    existing = Topic.objects.filter(slug=slug).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        topic, created = Topic.objects.get_or_create(
            slug=slug,
            defaults={"name_vi": name_vi, "name_en": name_en, "kind": kind, "description": description,
                      "description_en": description_en, "allowed_roles": roles, "pin_roles": pinners,
                      "default_tlp": clean_tlp(default_tlp, field="default_tlp")},
        )
        if created and centres:
            topic.allowed_centres.set(centres)
    return topic


# What a topic's own rule of who reads it is made of (chat.selectors.can_view_topic).
TOPIC_RULE_FIELDS = frozenset({"kind", "allowed_roles", "allowed_centres"})


def topic_saved(topic: Topic, *, changed: Iterable[str], slug_before: str = "") -> None:
    """A stored topic was changed (`changed`: the fields that differ; the admin's Topic page, the only
    place topics are edited, calls this once its allowed centres are saved too). A change of its rule
    may leave people out: once the transaction commits, every socket open on the topic re-checks, and
    those of the people left out close (4403) before anything posted after the change reaches them
    (hub.services.topic_access_changed). Every write of a topic's rule goes through here. Sockets
    opened under `slug_before` (the slug changed too) are told as well."""
    if not TOPIC_RULE_FIELDS.isdisjoint(changed):
        for slug in dict.fromkeys(filter(None, (topic.slug, slug_before))):
            topic_access_changed(slug)


def delete_topic(topic: Topic) -> None:
    """A hub admin deletes a topic (the admin's Topic page; its messages go with it): once the
    transaction commits, every socket open on it re-checks and closes at once, as when its rule
    narrows (`topic_saved`), rather than at the periodic re-check 30 s later."""
    slug = topic.slug
    with transaction.atomic():
        topic.delete()
        topic_access_changed(slug)


# --- validation ---------------------------------------------------------------------------------

def validate_body(body: Any) -> str:
    """A message body: the hub's one text rule (hub/lib/text.py: a string, no lone surrogates, NUL or
    control characters, not empty, at most HUB_MAX_BODY_BYTES, else 413), kept as written."""
    clean_text(body, field="body", max_bytes=settings.HUB_MAX_BODY_BYTES)
    assert isinstance(body, str)  # clean_text refuses anything else
    return body


def validate_client_id(client_id: Any) -> str | None:
    if client_id is None or client_id == "":
        return None
    if not isinstance(client_id, str):
        raise HubError(INVALID, _("client_id must be a string."), fields=["client_id"])
    if len(client_id) > CLIENT_ID_MAX or "\x00" in client_id:
        raise HubError(INVALID, _("client_id must be at most %(n)s characters."), fields=["client_id"], n=CLIENT_ID_MAX)
    return client_id


def _require_access(user: User, topic: Topic) -> None:
    if not can_view_topic(user, topic):
        raise HubError(FORBIDDEN, _("You may not use this topic."))


# --- mentions -----------------------------------------------------------------------------------

def _mention_recipients(message: Message, users: list[User], centres: list[Centre]) -> set[int]:
    """Ids of the people a mention reaches: named users plus the active members of named centres,
    minus the author and anyone who may not see the topic or the message."""
    candidates = {u.id: u for u in users}
    if centres:
        for member in User.objects.select_related("centre").filter(centre__in=centres, is_active=True):
            candidates.setdefault(member.id, member)
    return {
        uid for uid, person in candidates.items()
        if uid != message.author_id and person.is_active and can_view_topic(person, message.topic)
        and message_visible(person, message)
    }


def _store_mentions(message: Message, users: list[User], centres: list[Centre]) -> None:
    Mention.objects.bulk_create(
        [Mention(message=message, user=u) for u in users] + [Mention(message=message, centre=c) for c in centres]
    )


def _mention_names(rendered: Rendered) -> Mentions:
    return {"users": [u.username for u in rendered.users], "centres": [c.code for c in rendered.centres]}


def _notify_mentions(message: Message, recipients: set[int], payload: MessageWire, direct: Iterable[int] = ()) -> None:
    if not recipients:
        return
    topic = message.topic
    frame: MentionFrame = {"type": "mention", "message": payload,
                           "topic": {"slug": topic.slug, "name_vi": topic.name_vi, "name_en": topic.name_en}}
    for uid in sorted(recipients):
        broadcast_on_commit([user_group(uid)], frame, Audience(users=frozenset({uid})))
    # The in-hub record, emailed later if still unseen (notify: the unseen rule, topic mutes).
    from notify.services import mentioned

    mentioned(message=message, recipients=recipients, direct=direct)


# --- messages -----------------------------------------------------------------------------------

# post_message's topic lock, compiled once (hub.lib.compiled_queries): building its SQL cost more CPU than the
# database took to answer it (the previous id is read by the INSERT itself: `_store_message`).
_LOCK_TOPIC = CompiledQuery(lambda pk: Topic.objects.select_for_update().filter(pk=pk).values_list("pk")[:1])
# A reply's lock of its thread's root, taken before the topic's (`_lock_thread`), compiled likewise.
_LOCK_ROOT = CompiledQuery(
    lambda pk: Message.objects.select_for_update(no_key=True).filter(pk=pk)
    .values_list("reply_count", "audience", "tlp")[:1])


# The message a reply answers (`_thread_of`), compiled likewise: the ORM's version was a fifth of a
# reply's CPU, most of it building the SQL (docs/benchmarks.md, "Issue 26").
_PARENT = CompiledQuery(lambda pk, topic_id: Message.objects.filter(pk=pk, topic_id=topic_id)
                        .values_list(*model_fields(Message))[:1], arity=2)


def live_audience(topic: Topic, *, audience: Audience | None, anchor: int) -> Audience:
    """Who a frame about a message (anchored at `anchor`: its thread's root, else itself) may reach
    besides the topic's group: the message's audience, and in a direct conversation its members as
    they are now who read that part of its history (`chat.selectors.history_audience`: someone who
    left hears nothing more even before their socket is closed; someone added without the earlier
    messages hears nothing about them — an edit, a reaction, a pin, a reply in an older thread)."""
    if topic.kind == Topic.Kind.DIRECT:
        return Audience(users=history_audience(topic, anchor))
    return audience if audience is not None else Audience()


def _thread_of(topic: Topic, by: User, reply_to: Any) -> Message:
    """The message a reply answers: a visible, not deleted message of the same topic."""
    if isinstance(reply_to, bool) or not isinstance(reply_to, int) or not 0 < reply_to <= MAX_ID:
        raise HubError(INVALID, _("reply_to must be a message id."), fields=["reply_to"])
    rows = _PARENT.rows(reply_to, topic.pk)
    parent = model_from_row(Message, rows[0]) if rows else None
    if parent is not None:
        parent.topic = topic  # known: no query for it (message_visible reads its kind)
    if parent is None or not message_visible(by, parent):
        raise HubError(NOT_FOUND, _("No message %(id)s in this topic."), fields=["reply_to"], id=reply_to)
    if parent.deleted_at is not None:
        raise HubError(CONFLICT, _("A deleted message cannot be replied to."), fields=["reply_to"])
    return parent


def _root_of(topic: Topic, reply: Message) -> Message:
    """The root of the thread `reply` is in (a message of the same topic)."""
    root = model_from_row(Message, _PARENT.rows(reply.thread_root_id, topic.pk)[0])
    root.topic = topic
    return root


def message_audience(*, author: User, shared_with: list[str] | None) -> Audience | None:
    """Who may read a message besides the topic's own rule: with a sharing scope, the people of the
    listed centres and the author's, whatever their role (CONTRACT, "Additions"); without one, None
    (everyone the topic allows)."""
    return scope_audience(shared_with, author.centre.code if author.centre is not None else None)


def post_message(
    topic: Topic, *, by: User, body: Any, client_id: Any = None, audience: Audience | None = None,
    tlp: Any = None, shared_with: Any = None, reply_to: Any = None, also_channel: Any = False,
    files: Sequence[UploadedFile[bytes]] = (),
) -> tuple[Message, bool]:
    """Store a message and broadcast it after commit. Returns (message, created).

    `tlp` is the topic's `default_tlp` when not given, and may only be tighter; `shared_with` (centre
    codes) narrows the readers to those centres and the author's (`message_audience`). `audience`
    is for the hub's own messages (an alert's summary carries the alert's TLP audience).
    A `client_id` the author already used returns the stored message with created=False and sends
    nothing again, so a client may retry after a dropped connection without duplicates.

    `reply_to` makes a threaded reply (docs/chat.md, "Threads"): it takes its thread's scope (a reply
    never reaches anyone its root does not) and at least its root's TLP; the root's reply count and
    last reply time move with it; everyone who took part in the thread is notified. `also_channel`
    shows the reply in the channel as well.

    `files` (docs/chat.md, "Files and images"): uploads posted with the message, checked by the hub's
    one upload rule (hub.lib.uploads) and written to storage before the transaction; the message's
    wire form names them (`attachments`). With files the body may be empty."""
    checked = check_files(files)
    body = "" if files and (body is None or (isinstance(body, str) and not body.strip())) else validate_body(body)
    client_id = validate_client_id(client_id)
    shared_with = clean_shared_with(shared_with)
    if not isinstance(also_channel, bool):
        raise HubError(INVALID, _("also_channel must be true or false."), fields=["also_channel"])
    _require_access(by, topic)
    if topic.kind == Topic.Kind.DIRECT and shared_with is not None:
        raise HubError(INVALID, _("A direct conversation has no sharing scope: its members read it."),
                       fields=["shared_with"])
    root: Message | None = None
    parent: Message | None = None
    floor = topic.default_tlp
    if reply_to is not None:
        parent = _thread_of(topic, by, reply_to)
        root = parent if parent.thread_root_id is None else _root_of(topic, parent)
        floor = tightest(floor, root.tlp)
        # A reply is read by exactly its root's readers: never wider (it would show the thread to
        # people its root excludes) and never narrower (the root's reply_count and last_reply_at,
        # which every reader of the root sees, would count a reply some of them may not read).
        if shared_with is not None and shared_with != root.shared_with:
            raise HubError(INVALID, _("A reply keeps its thread's sharing scope."), fields=["shared_with"])
        if root.audience is not None:
            shared_with = root.shared_with
            root_audience = Audience.from_meta(root.audience)
            audience = root_audience if audience is None else audience.narrowed_by(root_audience)
    elif also_channel:
        raise HubError(INVALID, _("also_channel needs reply_to."), fields=["also_channel"])
    tlp = clean_tlp(tlp, floor=floor)
    if audience is None:
        audience = message_audience(author=by, shared_with=shared_with)
    ratelimit.charge("post")  # the acting person's `post` bucket (hub/lib/ratelimit.py)
    # No look-up for an existing client_id first: the unique constraint answers retries below,
    # which keeps the common path (a new message) one query shorter.
    # Everything that needs no lock is done before the topic's (`_insert_message`): the text's
    # rendering (and its mentions' look-up) and, for a reply, who takes part in its thread.
    rendered = render_body(body) if body else Rendered("")
    message = Message(topic=topic, author=by, body=body, html=rendered.html, client_id=client_id,
                      search_text=search_text(body), tlp=tlp, shared_with=shared_with, reply_to=parent,
                      thread_root=root, also_channel=also_channel)
    message.set_audience(audience.as_meta() if audience is not None else None)
    thread = _read_thread(topic, root, message) if root is not None else None
    with removed_on_failure() as stored:
        pending = store_files(files, checked, by=by, stored=stored)
        try:
            inserted = _insert_message(topic, message, rendered, thread=thread, pending=pending)
        except IntegrityError:
            if client_id is None:
                raise
            inserted = False
        if not inserted:
            # The same client_id raced in from another socket or process: the first one won (and
            # this retry's copies of its files are not needed).
            existing = _existing(by, client_id, topic) if client_id is not None else None
            if existing is None:
                raise IntegrityError("client_id: no message, yet a conflict")
            delete_stored(stored)
            return existing, False
    return message, True


def _insert_message(topic: Topic, message: Message, rendered: Rendered, *, thread: _Thread | None,
                    pending: list[MessageAttachment]) -> bool:
    """post_message's transaction: the row, its files and mentions (and a reply's thread), and the
    frames after commit; False, and nothing written, when the author's client_id is already taken
    (PostgreSQL; elsewhere the INSERT raises IntegrityError). On PostgreSQL it takes no savepoint
    inside a caller's transaction (an alert's summary message: two round trips of a raise, issue 27):
    a taken client_id is answered by the INSERT (`_store_message`), not by an error to recover from,
    and any other error fails the caller's transaction as a whole, as it would fail it anyway.
    It holds the topic's row lock until COMMIT, and every other message of the topic waits for it:
    only what must be in the lock is (a reply adds two writes; its root's row is locked before the
    topic's, so that waiting for a reaction or an edit of the root never holds the topic up:
    tests/chat/test_thread_lock.py; docs/benchmarks.md, "Issue 26")."""
    with (published_in_commit_order(("topic", topic.pk)) as before_commit,
          transaction.atomic(savepoint=connection.vendor != "postgresql")):
        if thread is not None:
            thread = _lock_thread(topic, thread, message)
        # Lock the topic row: ids are then committed in id order within a topic, so a client
        # that synced "after N" can never later miss a message with an id below a seen one.
        _LOCK_TOPIC.rows(topic.pk)
        if not _store_message(topic, message):
            return False
        message.reaction_list, message.is_pinned = [], False  # type: ignore[attr-defined]  # a new message
        attach(message, pending)
        _store_mentions(message, rendered.users, rendered.centres)
        payload = message_out(message, _mention_names(rendered))
        frame: MessageFrame = {"type": "message", "message": payload}
        live = live_audience(topic, audience=Audience.from_meta(message.audience), anchor=anchor_id(message))
        mentioned = _mention_recipients(message, rendered.users, rendered.centres)
        broadcasts: list[Broadcast] = [([topic_group(topic.slug)], frame, live)]
        if thread is not None:
            broadcasts.append(_thread_replied(topic, thread, message, payload, live, already=mentioned))
        broadcast_together_on_commit(broadcasts)  # a reply and its thread's count: one write to each socket
        _notify_mentions(message, mentioned, payload, direct=[u.id for u in rendered.users])
        before_commit()
    return True


def _store_message(topic: Topic, message: Message) -> bool:
    """The new message's row, under the topic's lock, with `prev_id` the topic's newest message then.
    On PostgreSQL one statement (hub.lib.inserts): the newest id is read by the INSERT itself, whose
    snapshot is taken after the lock, so it sees every message committed before — a round trip less
    than reading it first, and no SQL for Django to build (an alert's summary message is a tenth of
    raising the alert: issue 27, target 3; every chat post takes this path). A client_id the author
    already used (the unique constraint `chat_message_unique_client_id_per_author`) writes nothing
    and returns False there; elsewhere `save()` raises IntegrityError."""
    if connection.vendor != "postgresql":
        message.prev_id = latest_message_id(topic) or None
        message.save()
        return True
    table, column = inserts.quoted_table(Message), inserts.quoted_column
    newest = (f"(SELECT {column(Message, 'id')} FROM {table} WHERE {column(Message, 'topic')} = {int(topic.pk)} "
              f"ORDER BY {column(Message, 'id')} DESC LIMIT 1)")
    columns, values, params = inserts.row(message, given={"prev_id": newest})
    client_id = column(Message, "client_id")
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}) VALUES ({values}) "
                       f"ON CONFLICT ({column(Message, 'author')}, {client_id}) WHERE {client_id} IS NOT NULL "
                       f"DO NOTHING RETURNING {column(Message, 'id')}, {column(Message, 'prev_id')}", params)
        row = cursor.fetchone()
    if row is None:
        return False
    inserts.saved(message, row[0], prev_id=row[1])
    return True


@dataclass(frozen=True)
class _Thread:
    """A reply's thread as read before the topic's lock (`_read_thread`): its root's count, its
    newest message and who took part then, and the "reply" notifications chosen for them."""

    root: Message
    count: int  # the root's reply_count when read
    newest: int  # the id of the thread's newest message then (its root's, without replies)
    participants: frozenset[int]
    notify: dict[int, str]  # {person: channel} (notify.services.mention_channels)


def _read_thread(topic: Topic, root: Message, reply: Message, *, after: _Thread | None = None) -> _Thread:
    """Who took part in the thread (`chat.selectors.thread_state`) and, of them, who is notified of
    `reply`: they may read it, and their preferences let it through. `after`: only what changed
    since that reading (a reply committed in between)."""
    from notify.services import mention_channels

    state = thread_state(root.pk, after=after.newest if after is not None else 0)
    known = after.participants if after is not None else frozenset()
    candidates = state.participants - known - {reply.author_id}
    chosen = mention_channels(topic_id=topic.pk, recipients=candidates, direct=candidates,
                              may_read=lambda p: can_view_topic(p, topic) and message_visible(p, reply))
    return _Thread(root=root, count=state.count, newest=state.newest, participants=known | state.participants,
                   notify={**(after.notify if after is not None else {}), **chosen})


def _lock_thread(topic: Topic, thread: _Thread, reply: Message) -> _Thread:
    """The reply's transaction's first statement, before the topic's lock: its root's row, locked
    (as the count's UPDATE would, `FOR NO KEY UPDATE`: a reaction's insert is not held up) until
    COMMIT. Every reply of the thread takes this lock, so from here on its count and participants do
    not move; if they moved since `_read_thread` (another reply committed in between), what changed
    is read again now. If the root's marking moved meanwhile (`remark_thread`: its alert's TLP was
    raised), the reply follows it as the replies already there did, and who is notified is read again."""
    locked = _LOCK_ROOT.rows(thread.root.pk)
    if locked and (locked[0][1], locked[0][2]) != (thread.root.audience, thread.root.tlp):
        root = thread.root
        root.set_audience(locked[0][1])
        root.tlp = locked[0][2]
        _narrow(reply, Audience.from_meta(root.audience), root.tlp)
        return _read_thread(topic, root, reply)
    return thread if locked and locked[0][0] == thread.count else _read_thread(topic, thread.root, reply, after=thread)


def _thread_replied(topic: Topic, thread: _Thread, reply: Message, payload: MessageWire, live: Audience,
                    already: set[int]) -> Broadcast:
    """Inside the reply's transaction, under the topic's lock: the root's count and last reply time,
    and the "reply" notifications of everyone who took part in the thread (emailed like a mention
    when unseen) — all read before the lock (`_read_thread`, `_lock_thread`). Returns the
    `thread.updated` frame's broadcast, which leaves with the reply's own."""
    root = thread.root
    count = thread.count + 1
    # changed_at: the root's count moved, which a client away meanwhile gets through `sync`.
    # The root is locked (`_lock_thread`); `thread.updated` carries the count, not the version.
    Message.objects.filter(pk=root.pk).mark_changed(reply.created_at, reply_count=count,
                                                    last_reply_at=reply.created_at)
    updated: ThreadUpdatedFrame = {"type": "thread.updated", "topic": topic.slug, "root": root.pk,
                                   "reply_count": count, "last_reply_at": payload["created_at"]}
    chosen = {uid: channel for uid, channel in thread.notify.items() if uid not in already}
    if chosen:
        from notify.services import record_mentions

        record_mentions(message=reply, channels=chosen, verb="reply")
    root_live = live_audience(topic, audience=Audience.from_meta(root.audience), anchor=root.pk)
    return [topic_group(topic.slug)], updated, root_live if root.audience is not None else live


def remark_thread(root: Message, *, audience: Audience | None, tlp: str, shared_with: list[str] | None) -> None:
    """Give a thread's root a new marking — its audience, TLP and scope, exactly (an alert's summary
    follows its alert: alerts.services._follow_summary) — and hold its replies to the thread's rule:
    a reply never reaches anyone its root does not (`post_message`). Each reply is narrowed to whom
    both its own audience and the root's admit (`Audience.narrowed_by`) and to at least the root's
    TLP; never widened — a reply written for fewer people stays so when the root loosens. Stored
    markings are what every read path (history, sync, search, threads, pins, files, unread counts,
    notifications) and every later frame read, so they all follow. Each changed message moves its
    version and goes out as `message.updated` to its new audience and, when its audience changed, as
    `message.withdrawn` to the people it had and has no longer (`Lost`: they take it off their open
    pages; hub admins read everything and are never among them), together after commit. A change of
    TLP alone that reaches the same people (AMBER → AMBER+STRICT) withdraws nothing. Runs in the
    caller's transaction (`root` read locked, `select_for_update`, by the caller), or its own."""
    topic = root.topic
    root_audience = audience if audience is not None else Audience()
    with transaction.atomic():
        before = {root.pk: Audience.from_meta(root.audience)}
        root.set_audience(root_audience.as_meta())
        root.tlp, root.shared_with = tlp, shared_with
        root.save(update_fields=[*MARKING_FIELDS, *_marked(root, was=before[root.pk])])
        changed = [root]
        for reply in Message.objects.filter(thread_root=root).select_for_update().order_by("id"):
            was = Audience.from_meta(reply.audience)
            if _narrow(reply, root_audience, tlp):
                reply.save(update_fields=[*MARKING_FIELDS, *_marked(reply, was=was)])
                before[reply.pk] = was
                changed.append(reply)
        ready_for_wire(changed, [topic])
        group = [topic_group(topic.slug)]
        broadcasts: list[Broadcast] = []
        for message in changed:
            anchor = anchor_id(message)
            now = live_audience(topic, audience=Audience.from_meta(message.audience), anchor=anchor)
            broadcasts.append((group, {"type": "message.updated", "message": message_out(message)}, now))
            # Nothing when its TLP alone changed: the same people read it (`withdrawal`'s own rule).
            withdrawn: MessageWithdrawnFrame = {"type": "message.withdrawn", "topic": topic.slug, "id": message.pk}
            broadcasts += withdrawal(withdrawn, before=live_audience(topic, audience=before[message.pk], anchor=anchor),
                                     after=now, groups=group)
        broadcast_together_on_commit(broadcasts)


def _marked(message: Message, *, was: Audience) -> list[str]:
    """A re-marked message's change (not saved): its version and `changed_at`, and, when its audience
    is no longer `was`, `marked_at` — what `sync` with `changed_since` withdraws by
    (chat.selectors.withdrawn_up_to). A reply is only ever narrowed; a root follows its alert either
    way, and a widened one is simply readable by everyone it had. The fields to save."""
    fields = message.mark_changed()
    if Audience.from_meta(message.audience) == was:
        return fields  # its TLP alone changed: the same people read it
    message.marked_at = message.changed_at
    return [*fields, "marked_at"]


def _narrow(reply: Message, root_audience: Audience, root_tlp: str) -> bool:
    """The thread's rule on one reply (not saved): its audience narrowed to whom its root's also
    admits, its TLP at least the root's, the scope it shows the centres that then read it. Whether
    anything changed."""
    before = Audience.from_meta(reply.audience)
    after = before.narrowed_by(root_audience)
    tlp = tightest(reply.tlp, root_tlp)
    if after == before and tlp == reply.tlp:
        return False
    if after.centres != before.centres:
        reply.shared_with = sorted(after.centres) if after.centres is not None else None
    reply.set_audience(after.as_meta())
    reply.tlp = tlp
    return True


# What a message's marking is stored in (`remark_thread`).
MARKING_FIELDS = ("audience", "audience_centres", "audience_roles", "audience_users", "tlp", "shared_with")


def mark_thread_read(root: Message, *, by: User, up_to: Any) -> int:
    """Move the person's marker in one thread forward (never backwards, never past its last reply)."""
    if isinstance(up_to, bool) or not isinstance(up_to, int) or not 0 <= up_to <= MAX_ID:
        raise HubError(INVALID, _("up_to must be a non-negative integer message id."), fields=["up_to"])
    _require_access(by, root.topic)
    newest = Message.objects.filter(thread_root=root).order_by("-id").values_list("id", flat=True).first() or 0
    up_to = min(up_to, newest)
    marker, _created = ThreadReadMarker.objects.get_or_create(user=by, root=root)
    if ThreadReadMarker.objects.filter(pk=marker.pk, last_read_id__lt=up_to).update(last_read_id=up_to):
        from notify.services import mark_read_thread

        mark_read_thread(user_id=by.id, root_id=root.pk, up_to=up_to)
    marker.refresh_from_db(fields=["last_read_id"])
    return marker.last_read_id


def _existing(author: User, client_id: str, topic: Topic) -> Message | None:
    existing = (
        Message.objects.select_related("author", "author__centre", "topic")
        .filter(author=author, client_id=client_id).first()
    )
    if existing is not None and existing.topic_id != topic.id:
        raise HubError(CONFLICT, _("client_id was already used for a message in another topic."), fields=["client_id"])
    return existing


def _locked(pk: int) -> Message:
    """The message row locked for this transaction (not the joined author/centre rows)."""
    return Message.objects.select_for_update(of=("self",)).select_related("topic", "author", "author__centre").get(
        pk=pk
    )


def _may_change(user: User, message: Message) -> bool:
    return user.is_active and (message.author_id == user.id or user.is_hub_admin)


def edit_message(message: Message, *, by: User, body: Any) -> Message:
    """Replace a message's text, keeping the previous text as a revision; broadcast `message.updated`.
    Newly mentioned people are notified; those mentioned before are not notified twice."""
    body = validate_body(body)
    if not _may_change(by, message):
        raise HubError(FORBIDDEN, _("Only the author or a hub admin may edit this message."))
    ratelimit.charge("post")
    with transaction.atomic():
        message = _locked(message.pk)
        if message.deleted_at is not None:
            raise HubError(CONFLICT, _("A deleted message cannot be edited."))
        if body == message.body:
            return message
        old = list(message.mentions.select_related("user", "centre"))
        before = _mention_recipients(message, [m.user for m in old if m.user is not None],
                                     [m.centre for m in old if m.centre is not None])
        MessageRevision.objects.create(message=message, action=MessageRevision.Action.EDIT, body=message.body,
                                       html=message.html, changed_by=by)
        rendered = render_body(body)
        message.body, message.html, message.search_text = body, rendered.html, search_text(body)
        message.edited_at = timezone.now()
        message.save(update_fields=["body", "html", "search_text", "edited_at",
                                    *message.mark_changed(message.edited_at)])
        message.mentions.all().delete()
        _store_mentions(message, rendered.users, rendered.centres)
        payload = message_out(message, _mention_names(rendered))
        updated: MessageUpdatedFrame = {"type": "message.updated", "message": payload}
        broadcast_on_commit([topic_group(message.topic.slug)], updated,
                            live_audience(message.topic, audience=Audience.from_meta(message.audience),
                                          anchor=anchor_id(message)))
        after = _mention_recipients(message, rendered.users, rendered.centres)
        _notify_mentions(message, after - before, payload, direct=[u.id for u in rendered.users])
    return message


def delete_message(message: Message, *, by: User) -> Message:
    """Soft-delete: the id stays (a tombstone) so catch-up has no gaps; the text moves to a revision."""
    if not _may_change(by, message):
        raise HubError(FORBIDDEN, _("Only the author or a hub admin may delete this message."))
    with transaction.atomic():
        message = _locked(message.pk)
        if message.deleted_at is not None:
            return message
        MessageRevision.objects.create(message=message, action=MessageRevision.Action.DELETE, body=message.body,
                                       html=message.html, changed_by=by)
        message.deleted_at = timezone.now()
        message.body, message.html, message.search_text = "", "", ""
        message.save(update_fields=["deleted_at", "body", "html", "search_text",
                                    *message.mark_changed(message.deleted_at)])
        deleted: MessageDeletedFrame = {"type": "message.deleted", "message": message_out(message)}
        broadcast_on_commit([topic_group(message.topic.slug)], deleted,
                            live_audience(message.topic, audience=Audience.from_meta(message.audience),
                                          anchor=anchor_id(message)))
    return message


# --- read markers -------------------------------------------------------------------------------

def mark_topic_read(topic: Topic, *, by: User, up_to: Any) -> int:
    """Move the user's read marker forward to `up_to` (never backwards, never past the newest id).
    Returns the marker; the user's other sockets hear of it through their notifications stream."""
    if isinstance(up_to, bool) or not isinstance(up_to, int) or not 0 <= up_to <= MAX_ID:
        raise HubError(INVALID, _("up_to must be a non-negative integer message id."), fields=["up_to"])
    _require_access(by, topic)
    up_to = min(up_to, latest_message_id(topic))
    with transaction.atomic():
        marker, _created = ReadMarker.objects.get_or_create(user=by, topic=topic)
        if up_to > marker.last_read_id:
            ReadMarker.objects.filter(pk=marker.pk, last_read_id__lt=up_to).update(last_read_id=up_to)
            from notify.services import mark_read_mentions

            mark_read_mentions(user_id=by.id, topic_id=topic.pk, up_to=up_to)
            read: ReadFrame = {"type": "read", "topic": topic.slug, "up_to": up_to}
            broadcast_on_commit([user_group(by.id)], read, Audience(users=frozenset({by.id})))
            from chat.receipts import read_moved

            read_moved(topic, by=by, up_to=up_to)  # the topic's "seen by" lines (chat/receipts.py)
        marker.refresh_from_db(fields=["last_read_id"])
    return marker.last_read_id


# --- reactions and pins -------------------------------------------------------------------------

MAX_EMOJI_CHARS = 16
# Besides symbols ("So"): joiners, variation selectors, skin tones, keycaps and tags that emoji are made of.
_EMOJI_PARTS = {"Sk", "Mn", "Me", "Cf"}


def clean_emoji(value: Any) -> str:
    """One emoji (possibly several code points: a flag, a skin tone, a ZWJ sequence), not text."""
    import unicodedata

    if not isinstance(value, str) or not 0 < len(value) <= MAX_EMOJI_CHARS:
        raise HubError(INVALID, _("emoji must be one emoji."), fields=["emoji"])
    categories = [unicodedata.category(ch) for ch in value]
    if "So" not in categories or any(c != "So" and c not in _EMOJI_PARTS for c in categories):
        raise HubError(INVALID, _("emoji must be one emoji."), fields=["emoji"])
    return value


# A reaction's lock of its message, with what the toggle reads of it, compiled once: `_locked`'s
# ORM query (the message, its topic, author and centre) was half of a toggle's CPU (docs/benchmarks.md,
# "Issue 26").
_LOCK_REACTED = CompiledQuery(lambda pk: Message.objects.select_for_update().filter(pk=pk)
                              .values_list("deleted_at", "audience", "version")[:1])


def toggle_reaction(message: Message, *, by: User, emoji: Any) -> ReactionsFrame:
    """Add the person's reaction with this emoji, or remove it if they had it; returns the message's
    reactions with their `version` (the `message.reactions` frame broadcast after commit). Not a
    message: no id in the topic's sequence, no unread count moves, nothing is notified."""
    emoji = clean_emoji(emoji)
    topic = message.topic
    _require_access(by, topic)
    if not message_visible(by, message):
        raise HubError(NOT_FOUND, _("No message %(id)s in this topic."), id=message.pk)
    ratelimit.charge("write")
    with published_in_commit_order(("reactions", message.pk)) as before_commit, transaction.atomic():
        # One toggle at a time per message: the counts broadcast are exact.
        locked = _LOCK_REACTED.rows(message.pk)
        if not locked:
            raise HubError(NOT_FOUND, _("No message %(id)s in this topic."), id=message.pk)
        deleted_at, audience, version = locked[0]
        if deleted_at is not None:
            raise HubError(CONFLICT, _("A deleted message cannot be reacted to."))
        removed, _kinds = Reaction.objects.filter(message_id=message.pk, user=by, emoji=emoji).delete()
        if not removed:
            Reaction.objects.create(message_id=message.pk, user=by, emoji=emoji)
        # For a client away meanwhile (`sync` with `changed_since`), and the order of this message's
        # changes (`version`, Message.mark_changed): the row is locked already.
        Message.objects.filter(pk=message.pk).mark_changed()  # version + 1, as the frame says
        reactions = reactions_of([message.pk])[message.pk]
        frame: ReactionsFrame = {"type": "message.reactions", "topic": topic.slug, "id": message.pk,
                                 "reactions": reactions, "version": version + 1}
        # The frame is the message's whole reaction state: it may wait a moment to share the next
        # event's socket write, and a newer one replaces it (hub.realtime.receiver, state frames).
        broadcast_on_commit([topic_group(topic.slug)], frame,
                            live_audience(topic, audience=Audience.from_meta(audience),
                                          anchor=anchor_id(message)),  # a message's thread never changes
                            state=f"reactions:{message.pk}", version=version + 1)
        before_commit()
    return frame


def set_pinned(message: Message, *, by: User, pinned: bool) -> Pin | None:
    """Pin or unpin a message in its topic (the topic's `pin_roles` say who may; anyone who sees a
    topic without them). Idempotent; a change is broadcast as `message.pinned`."""
    topic = message.topic
    if not may_pin(by, topic):
        raise HubError(FORBIDDEN, _("You may not pin messages in this topic."))
    if not message_visible(by, message):
        raise HubError(NOT_FOUND, _("No message %(id)s in this topic."), id=message.pk)
    # Pins of one message are serialised by its row lock and leave in commit order, as reactions do:
    # a pin and an unpin at once reach every client in the order the database took them.
    with published_in_commit_order(("pins", message.pk)) as before_commit, transaction.atomic():
        locked = _locked(message.pk)
        if pinned and locked.deleted_at is not None:
            raise HubError(CONFLICT, _("A deleted message cannot be pinned."))
        pin = Pin.objects.filter(message=locked).select_related("pinned_by", "pinned_by__centre").first()
        if pinned and pin is None:
            pin = Pin.objects.create(topic=topic, message=locked, pinned_by=by)
        elif not pinned and pin is not None:
            pin.delete()
            pin = None
        else:
            return pin
        # For a client away meanwhile (`sync` with `changed_since`), and the order of changes.
        locked.save(update_fields=locked.mark_changed())
        locked.is_pinned = pinned  # type: ignore[attr-defined]  # read by message_out, as selectors annotate it
        frame: PinnedFrame = {
            "type": "message.pinned", "topic": topic.slug, "message": message_out(locked), "pinned": pinned,
            "pinned_by": author_out(by) if pinned else None,
            "pinned_at": timestamp(pin.pinned_at) if pin is not None else None}
        broadcast_on_commit([topic_group(topic.slug)], frame,
                            live_audience(topic, audience=Audience.from_meta(locked.audience),
                                          anchor=anchor_id(locked)))
        before_commit()
    return pin


# --- direct conversations -----------------------------------------------------------------------


def _people(usernames: Any, field: str = "members") -> list[User]:
    if not isinstance(usernames, list) or not all(isinstance(u, str) for u in usernames) or not usernames:
        raise HubError(INVALID, _("members: a list of usernames."), fields=[field])
    if len(usernames) > 100:
        raise HubError(INVALID, _("members: a list of usernames."), fields=[field])
    # A username is text like any other: a NUL or a lone surrogate is refused here, not by the database.
    wanted = list(dict.fromkeys(clean_text(u, field=field, max_length=150, single_line=True) for u in usernames))
    found = {u.username: u for u in User.objects.select_related("centre").filter(username__in=wanted, is_active=True)}
    missing = [u for u in wanted if u not in found]
    if missing:
        raise HubError(INVALID, _("No such person: %(username)s."), fields=[field], username=missing[0][:150])
    return [found[u] for u in wanted]


def _conversation_name(people: list[User]) -> str:
    return ", ".join(sorted(p.get_display_name() for p in people))[:200]


def _members_changed(topic: Topic, people: list[User]) -> None:
    names = _conversation_name(people)
    Topic.objects.filter(pk=topic.pk).update(name_vi=names, name_en=names)
    topic.name_vi = topic.name_en = names
    frame: MembersFrame = {"type": "members", "topic": topic.slug, "members": [author_out(p) for p in people]}
    broadcast_on_commit([topic_group(topic.slug)], frame, Audience(users=frozenset(p.id for p in people)))


def start_conversation(*, by: User, members: Any) -> tuple[Topic, bool]:
    """A direct conversation between the person and `members` (usernames, any centres), at most
    HUB_CONVERSATION_MAX_MEMBERS people in all; the one these same people already have is returned
    instead of a second. Returns (topic, created)."""
    if not by.is_active:
        raise HubError(FORBIDDEN, _("You may not start a conversation."))
    people = [p for p in _people(members) if p.pk != by.pk]
    if not people:
        raise HubError(INVALID, _("A conversation needs someone besides you."), fields=["members"])
    everyone = [by, *people]
    limit = settings.HUB_CONVERSATION_MAX_MEMBERS
    if len(everyone) > limit:
        raise HubError(INVALID, _("A conversation has at most %(n)s members."), fields=["members"], n=limit)
    ratelimit.charge("write")
    with transaction.atomic():
        existing = find_conversation({p.pk for p in everyone})
        if existing is not None:
            return existing, False
        names = _conversation_name(everyone)
        topic = Topic.objects.create(slug=f"dm-{uuid.uuid4().hex[:16]}", name_vi=names, name_en=names,
                                     kind=Topic.Kind.DIRECT, default_tlp=Tlp.AMBER)
        ConversationMember.objects.bulk_create(
            [ConversationMember(topic=topic, user=p, added_by=None if p.pk == by.pk else by) for p in everyone])
    return topic, True


def _conversation(topic: Topic, by: User) -> list[User]:
    """The members of a direct conversation the person is in (403 otherwise)."""
    if topic.kind != Topic.Kind.DIRECT:
        raise HubError(INVALID, _("This topic is not a direct conversation."))
    members = conversation_members([topic])[topic.pk]
    if by.pk not in {m.pk for m in members} or not by.is_active:
        raise HubError(FORBIDDEN, _("Only its members may change a conversation."))
    return members


def add_members(topic: Topic, *, by: User, usernames: Any, history: Any = False) -> list[User]:
    """A member adds people (up to the limit). With `history` they read the messages written before
    they came — never more of them than the adder reads; without it (the default) only what is
    written from now on (docs/chat.md, "Who reads the history": `ConversationMember.history_after`,
    the one rule `chat.selectors.history_q` applies on every read path)."""
    if not isinstance(history, bool):
        raise HubError(INVALID, _("history must be true or false."), fields=["history"])
    people = _people(usernames, "usernames")
    with transaction.atomic():
        Topic.objects.select_for_update().filter(pk=topic.pk).first()  # one change of members at a time
        members = _conversation(topic, by)
        new = [p for p in people if p.pk not in {m.pk for m in members}]
        limit = settings.HUB_CONVERSATION_MAX_MEMBERS
        if len(members) + len(new) > limit:
            raise HubError(INVALID, _("A conversation has at most %(n)s members."), fields=["usernames"], n=limit)
        # Under the topic's lock no message is being committed, so the newest id is the line.
        adders = my_history_after(by, topic)
        cut = adders if history else max(adders, latest_message_id(topic))
        ConversationMember.objects.bulk_create([ConversationMember(topic=topic, user=p, added_by=by,
                                                                   history_after=cut) for p in new])
        everyone = members + new
        if new:
            _members_changed(topic, everyone)
    return everyone


def leave_conversation(topic: Topic, *, by: User) -> None:
    """A member leaves: they no longer see the conversation; nobody can remove someone else. Their
    open sockets of it are closed at once (a control event re-checks them)."""
    with transaction.atomic():
        Topic.objects.select_for_update().filter(pk=topic.pk).first()
        members = _conversation(topic, by)
        ConversationMember.objects.filter(topic=topic, user=by).delete()
        rest = [m for m in members if m.pk != by.pk]
        if rest:
            _members_changed(topic, rest)
        broadcast_control_on_commit(by.pk, ACCESS_CHANGED)


def export_conversation(topic: Topic, *, by: User, reason: str) -> tuple[dict[str, Any], Any]:
    """A hub admin's export of a direct conversation (the only way someone outside it reads it):
    every message with its revisions, after an audit record (`ConversationExport`: who, when, why,
    how many messages, the export's SHA-256) is written in the same transaction."""
    import hashlib

    from chat.models import ConversationExport
    from hub.lib.jsonutil import dumps

    if not by.is_active or not by.is_hub_admin:
        raise HubError(FORBIDDEN, _("Only a hub admin may export a conversation."))
    if topic.kind != Topic.Kind.DIRECT:
        raise HubError(INVALID, _("This topic is not a direct conversation."))
    reason = clean_text(reason, field="reason", max_bytes=2000)
    with transaction.atomic():
        cuts = member_cutoffs(topic)
        messages = list(Message.objects.filter(topic=topic).select_related("author", "author__centre", "topic")
                        .prefetch_related("revisions__changed_by").order_by("id"))
        data = {
            "conversation": topic.slug,
            # The whole conversation (an audit), with what of it each member reads (`history_after`).
            "members": [{**author_out(m), "history_after": cuts.get(m.pk, 0)}
                        for m in conversation_members([topic])[topic.pk]],
            "exported_by": by.username,
            "reason": reason,
            "messages": [{**message_out(m), "revisions": [
                {"action": r.action, "body": r.body, "changed_by": r.changed_by.username,
                 "changed_at": timestamp(r.changed_at)} for r in m.revisions.all()]} for m in messages],
        }
        digest = hashlib.sha256(dumps(data).encode()).hexdigest()
        record = ConversationExport.objects.create(topic=topic, exported_by=by, reason=reason,
                                                   messages=len(messages), sha256=digest)
    return data, record
