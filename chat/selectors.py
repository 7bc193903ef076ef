"""Reading topics and messages, always through the caller's visibility.

Two layers decide what a person sees: the topic (`can_view_topic`: a channel's role/centre
restriction, or the owning app's rule for other kinds) and the message's own `audience` (e.g. a TLP
restricted alert summary). Every read path — history, sync, search, unread counts — goes through
`visible_messages`, and every live frame through the socket's audience check, so the two never
disagree.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet

from chat.access import access_for
from chat.frames import ReactionWire
from chat.models import (
    ConversationMember,
    Mention,
    Message,
    MessageAttachment,
    Pin,
    Reaction,
    ReadMarker,
    ThreadReadMarker,
    Topic,
)
from chat.text import search_words
from hub.lib.api_support import Page, keyset_page
from hub.lib.compiled_queries import TEXT_PLACEHOLDERS, CompiledQuery, model_fields, model_from_row
from hub.models import User
from hub.realtime.audience import Audience, audience_q
from hub.selectors import centres_by_id, people_by_id


def _user_ok(user: Any) -> bool:
    return user is not None and bool(getattr(user, "is_authenticated", False)) and bool(user.is_active)


def channel_allows(user: User, topic: Topic) -> bool:
    """A channel's own restriction: empty lists mean no restriction."""
    roles = topic.allowed_roles or []
    if roles and not any(role in roles for role in user.roles):
        return False
    centre_codes = topic_centre_codes(topic)
    if centre_codes and (user.centre is None or user.centre.code not in centre_codes):
        return False
    return True


def topic_centre_codes(topic: Topic) -> set[str]:
    cache = getattr(topic, "_prefetched_objects_cache", {})
    if "allowed_centres" in cache:
        return {c.code for c in cache["allowed_centres"]}
    return set(topic.allowed_centres.values_list("code", flat=True))


def member_q(user: User) -> Q:
    """The direct conversations (topics of kind `direct`) the user is a member of: the one rule of
    who sees a conversation (registered in chat.apps; hub admins are no exception — they read a
    conversation they are not in only through `manage.py export_conversation`, which is audited)."""
    return Q(members__user=user)


def can_view_topic(user: User, topic: Topic) -> bool:
    if not _user_ok(user):
        return False
    if user.is_hub_admin and topic.kind != Topic.Kind.DIRECT:
        return True
    if topic.kind == Topic.Kind.CHANNEL:
        return channel_allows(user, topic)
    access = access_for(topic.kind)
    if access is None:
        return False
    return bool(access.check(user, topic))


# Read by every topic request and WebSocket handshake; compiled once (hub.lib.compiled_queries): the ORM's
# `prefetch_related("allowed_centres")` version built both queries' SQL on each call (~1 ms).
_TOPIC_FIELDS = model_fields(Topic)
_TOPIC_BY_SLUG = CompiledQuery(lambda slug: Topic.objects.filter(slug=slug).values_list(*_TOPIC_FIELDS)[:1],
                               placeholders=TEXT_PLACEHOLDERS)
_TOPIC_CENTRES = CompiledQuery(
    lambda pk: Topic.allowed_centres.through.objects.filter(topic_id=pk).values_list("centre_id"))


@functools.cache
def _with_centre_ids() -> tuple[str, str]:
    """PostgreSQL: around `_TOPIC_BY_SLUG`'s SQL, its allowed centres' ids as one more column (an
    array), so that the topic and its centres are one round trip (every topic request and handshake
    reads them; an alert's summary message too: issue 27)."""
    from hub.lib.inserts import quoted_column, quoted_table

    through = Topic.allowed_centres.through
    centre, topic = quoted_column(through, "centre"), quoted_column(through, "topic")
    return (f"SELECT t.*, ARRAY(SELECT c.{centre} FROM {quoted_table(through)} c "
            f"WHERE c.{topic} = t.{connection.ops.quote_name('id')}) FROM (", ") AS t")


def get_topic(slug: str) -> Topic | None:
    """The topic with its allowed centres loaded, as `prefetch_related("allowed_centres")` leaves
    them: `topic.allowed_centres.all()` and `topic_centre_codes` read them without a query."""
    if connection.vendor == "postgresql":
        before, after = _with_centre_ids()
        rows = _TOPIC_BY_SLUG.rows_within(before, (), after, slug)
    else:
        rows = _TOPIC_BY_SLUG.rows(slug)
    if not rows:
        return None
    topic = model_from_row(Topic, rows[0][: len(_TOPIC_FIELDS)])
    if connection.vendor == "postgresql":
        centre_ids = list(rows[0][len(_TOPIC_FIELDS)])
    else:
        centre_ids = [centre_id for (centre_id,) in _TOPIC_CENTRES.rows(topic.pk)]
    centres = centres_by_id() if centre_ids else {}
    # As Django's prefetch leaves it: the relation's own queryset (so that `.filter()`, `.set()` …
    # on it still mean "this topic's centres") holding the rows.
    allowed = topic.allowed_centres.get_queryset()
    allowed._result_cache = sorted((centres[pk] for pk in centre_ids), key=lambda c: c.code)  # Meta.ordering
    allowed._prefetch_done = True  # type: ignore[attr-defined]  # Django's prefetch state, set as it sets it
    topic._prefetched_objects_cache = {"allowed_centres": allowed}  # type: ignore[attr-defined]  # as prefetch_related sets it
    return topic


def visible_topics(user: User, kind: str | None = Topic.Kind.CHANNEL) -> list[Topic]:
    """Topics the user may see (of one kind, or all kinds with kind=None), ordered by slug."""
    if not _user_ok(user):
        return []
    qs = Topic.objects.prefetch_related("allowed_centres").order_by("slug")
    if kind is not None:
        qs = qs.filter(kind=kind)
    if user.is_hub_admin and kind != Topic.Kind.DIRECT:
        # Everything but the direct conversations they are not in (those are private to members).
        return list(qs.filter(~Q(kind=Topic.Kind.DIRECT) | (Q(kind=Topic.Kind.DIRECT) & member_q(user))).distinct())
    # Channels are checked here; a kind whose owner supplied `visible_q` is decided by that filter
    # in SQL (one query for thousands of ticket threads), other kinds by `check` per topic.
    kinds = [kind] if kind is not None else list(Topic.objects.order_by().values_list("kind", flat=True).distinct())
    wanted = Q(kind=Topic.Kind.CHANNEL) if Topic.Kind.CHANNEL in kinds else Q(pk__in=[])
    by_sql: set[str] = set()
    for other in kinds:
        access = access_for(other) if other != Topic.Kind.CHANNEL else None
        if access is None:
            continue  # unregistered kinds are denied
        if access.visible_q is not None:
            wanted |= Q(kind=other) & access.visible_q(user)
            by_sql.add(other)
        else:
            wanted |= Q(kind=other)
    return [topic for topic in qs.filter(wanted) if topic.kind in by_sql or can_view_topic(user, topic)]


def message_visible(user: User, message: Message) -> bool:
    """The message's own audience admits the user, and — in a conversation — the user reads that part
    of its history (`reads_history`). The caller has checked the topic."""
    return messages_visible(user, [message])[0]


def messages_visible(user: User, messages: Sequence[Message]) -> list[bool]:
    """`message_visible` for each of `messages`: the conversations' cutoffs read once for all of
    them (`reads_histories`), only for those whose audience admits the user."""
    admitted = [Audience.from_meta(message.audience).allows(user) for message in messages]
    reads = iter(reads_histories(user, [m for m, ok in zip(messages, admitted, strict=True) if ok]))
    return [ok and next(reads) for ok in admitted]


def may_read_messages(user: User, messages: Sequence[Message], *, deleted_too: bool = False) -> list[bool]:
    """Whether the user may read each of `messages` on its own, now (a mention's notification, a
    webhook's message, a promoted item's quote): not deleted, its topic's rule (`can_view_topic`,
    once per topic) and the message's (`message_visible`, the cutoffs once for all). `deleted_too`:
    a deleted message counts as readable by whoever could read it (a quote then says only that it
    was deleted). A fixed number of queries whatever the number of messages of one topic."""
    topics: dict[int, bool] = {}
    candidates = []
    for message in messages:
        ok = deleted_too or message.deleted_at is None
        if ok and message.topic_id not in topics:
            topics[message.topic_id] = can_view_topic(user, message.topic)
        candidates.append(ok and topics[message.topic_id])
    visible = iter(messages_visible(user, [m for m, ok in zip(messages, candidates, strict=True) if ok]))
    return [ok and next(visible) for ok in candidates]


def _with_relations(qs: QuerySet[Message]) -> QuerySet[Message]:
    """Whole messages with everything `message_out` reads, for the single-message reads (one
    message, edits, deletes); pages use `_for_wire` and `ready_for_wire`."""
    return qs.select_related("author", "author__centre", "topic").prefetch_related("mentions__user",
                                                                                   "mentions__centre")


# What `chat.serializers.message_out` reads of a message's own columns, and nothing more; its
# author, topic and mentions come from `ready_for_wire`. Pages of history, sync and search loaded
# every column of each message, and then (select_related) an author, their centre and the topic per
# message: four model instances per message, when a page names a few people and one topic.
WIRE_FIELDS = ("id", "topic", "author", "body", "html", "client_id", "created_at", "edited_at", "deleted_at",
               "audience", "prev_id", "tlp", "shared_with", "promoted_to", "reply_to", "thread_root",
               "also_channel", "reply_count", "last_reply_at", "files", "version")


def _for_wire(qs: QuerySet[Message]) -> QuerySet[Message]:
    return qs.only(*WIRE_FIELDS)


_SLUG_FIELDS = ("id", "slug")
_SLUGS = CompiledQuery(lambda ids: Topic.objects.filter(pk__in=ids).values_list(*_SLUG_FIELDS))


def topics_by_id(ids: Iterable[int]) -> dict[int, Topic]:
    """Topics by id with only their slug loaded (the rest deferred): what a message's or a ticket's
    wire form names them by."""
    wanted = sorted(set(ids))
    return {topic.pk: topic for topic in (model_from_row(Topic, row, attnames=_SLUG_FIELDS)
                                          for row in (_SLUGS.rows(wanted) if wanted else ()))}


def ready_for_wire(messages: list[Message], topics: Iterable[Topic] | None = None) -> list[Message]:
    """Attach what `message_out` reads beyond the messages' own columns, in a few queries for the
    whole page: the authors (hub.selectors.people_by_id, each person loaded once and shared), their
    topics (from `topics` when the caller has them loaded — the page's one topic, a search's visible
    ones — else read) and the mentions' names."""
    if not messages:
        return messages
    people = people_by_id(m.author_id for m in messages)
    by_id = topics_by_id(m.topic_id for m in messages) if topics is None else {t.pk: t for t in topics}
    for message in messages:
        message.author = people[message.author_id]
        message.topic = by_id[message.topic_id]
    return with_reactions_and_pins(with_mention_names(messages))


_MENTION_NAMES = CompiledQuery(lambda ids: Mention.objects.filter(message_id__in=ids).order_by("id")
                               .values_list("message_id", "user__username", "centre__code"))


def with_mention_names(messages: list[Message]) -> list[Message]:
    """Attach to each message the names its mentions show (`message.mention_names`, which
    `message_out` reads), in one query for the whole page. Prefetching `mentions__user` and
    `mentions__centre` instead built a queryset per message, even for the many with no mention:
    the largest single cost of a page of history."""
    names: dict[int, dict[str, list[str]]] = {m.id: {"users": [], "centres": []} for m in messages}
    if names:
        for message_id, username, code in _MENTION_NAMES.rows(list(names)):
            if username is not None:
                names[message_id]["users"].append(username)
            elif code is not None:
                names[message_id]["centres"].append(code)
    for message in messages:
        message.mention_names = names[message.id]  # type: ignore[attr-defined]  # read by message_out
    return messages


_REACTIONS = CompiledQuery(lambda ids: Reaction.objects.filter(message_id__in=ids).order_by("id")
                           .values_list("message_id", "emoji", "user__username"))
_PINNED = CompiledQuery(lambda ids: Pin.objects.filter(message_id__in=ids).values_list("message_id"))


def reactions_of(message_ids: list[int]) -> dict[int, list[ReactionWire]]:
    """{message id: [{"emoji", "count", "users": [usernames]}]}, each emoji in the order it was first
    used on the message, its people in the order they reacted (one query for a page)."""
    grouped: dict[int, dict[str, list[str]]] = {pk: {} for pk in message_ids}
    if message_ids:
        for message_id, emoji, username in _REACTIONS.rows(list(message_ids)):
            grouped[message_id].setdefault(emoji, []).append(username)
    return {pk: [{"emoji": emoji, "count": len(users), "users": users} for emoji, users in by_emoji.items()]
            for pk, by_emoji in grouped.items()}


def with_reactions_and_pins(messages: list[Message]) -> list[Message]:
    """Attach each message's reactions and whether it is pinned (read by `message_out`), in two
    queries for the page."""
    ids = [m.id for m in messages]
    if not ids:
        return messages
    reactions = reactions_of(ids)
    pinned = {pk for (pk,) in _PINNED.rows(ids)}
    for message in messages:
        message.reaction_list = reactions[message.id]  # type: ignore[attr-defined]  # read by message_out
        message.is_pinned = message.id in pinned  # type: ignore[attr-defined]  # read by message_out
    return messages


# --- who reads a conversation's past (docs/chat.md, "Who reads the history") ---------------------------
#
# The one rule: a member of a direct conversation reads a message when its *anchor* — its thread's
# root for a reply, else the message itself — is newer than their `ConversationMember.history_after`
# (0: the whole history). Someone added without the earlier messages thus reads nothing from before
# they came, nor the later replies in a thread that started before they came (they could not open
# it). `history_q` is the rule over querysets (history, sync, search, threads, pins, unread counts),
# `reads_history` over one message (message_visible: reactions, pins, receipts), `reads_histories` over
# a batch of them (may_read_messages: notifications, webhooks, promotion's quotes), `history_audience`
# over the live frames; tests/chat/test_conversation_history.py holds each read path to it.


def anchor_id(message: Message) -> int:
    """The id the history rule compares: the thread's root for a reply, else the message's own."""
    return message.thread_root_id or message.pk


def reads_anchor(anchor: int, cut: int) -> bool:
    """The rule itself: a message anchored at `anchor` is read by a member whose cut is `cut`."""
    return anchor > cut


def _after(cut: int) -> Q:
    """Messages whose anchor is newer than `cut`."""
    return Q(thread_root__isnull=True, id__gt=cut) | Q(thread_root_id__gt=cut)


def history_cutoffs(user: User, topic_ids: Iterable[int]) -> dict[int, int]:
    """{topic id: the member's `history_after`} for the conversations among `topic_ids` whose earlier
    messages the user does not read (members with the whole history, and other kinds, are left out)."""
    ids = list(topic_ids)
    if not ids or not getattr(user, "pk", None):
        return {}
    return dict(ConversationMember.objects.filter(user_id=user.pk, topic_id__in=ids, history_after__gt=0)
                .values_list("topic_id", "history_after"))


def history_q(user: User, topics: Iterable[Topic]) -> Q:
    """The rule as a filter over messages of `topics`: leaves out, in each conversation the user joined
    without its earlier messages, those anchored at or before the cut."""
    direct = [t.pk for t in topics if t.kind == Topic.Kind.DIRECT]
    q = Q()
    for topic_id, cut in history_cutoffs(user, direct).items():
        q &= ~Q(topic_id=topic_id) | _after(cut)
    return q


def reads_history(user: User, message: Message) -> bool:
    """The rule for one message (a channel's or a request's messages have no cut: no query)."""
    return reads_histories(user, [message])[0]


def reads_histories(user: User, messages: Sequence[Message]) -> list[bool]:
    """The rule for each of `messages`, the cutoffs of their conversations read in one query (none
    when every topic is loaded and none is a conversation: a channel's or a request's messages have
    no cut)."""
    cut_by = [not Message.topic.is_cached(m) or m.topic.kind == Topic.Kind.DIRECT for m in messages]
    cuts = history_cutoffs(user, {m.topic_id for m, cut in zip(messages, cut_by, strict=True) if cut})
    return [not cut or reads_anchor(anchor_id(m), cuts.get(m.topic_id, 0))
            for m, cut in zip(messages, cut_by, strict=True)]


def member_cutoffs(topic: Topic) -> dict[int, int]:
    """{user id: history_after} of a conversation's members who do not read its whole history."""
    if topic.kind != Topic.Kind.DIRECT:
        return {}
    return dict(ConversationMember.objects.filter(topic=topic, history_after__gt=0)
                .values_list("user_id", "history_after"))


def history_audience(topic: Topic, anchor: int) -> frozenset[int]:
    """The members of a conversation who read a message anchored at `anchor`: who a live frame about
    it (the message, an edit, its reactions, a pin, its thread's count) may reach."""
    return frozenset(user_id for (user_id,) in _HISTORY_AUDIENCE.rows(topic.pk, anchor))


# Read inside a new message's transaction, under its topic's lock (chat.services.live_audience):
# compiled once, so that building its SQL does not hold up the conversation's other senders.
_HISTORY_AUDIENCE = CompiledQuery(lambda topic_id, anchor: ConversationMember.objects.filter(
    topic_id=topic_id, history_after__lt=anchor).values_list("user_id"), arity=2)


def _visible(user: User, topic: Topic) -> QuerySet[Message]:
    qs = Message.objects.filter(topic=topic).filter(audience_q(user))
    return qs.filter(history_q(user, [topic])) if topic.kind == Topic.Kind.DIRECT else qs


def visible_messages(user: User, topic: Topic) -> QuerySet[Message]:
    """Messages of a topic the user may see (tombstones of deleted ones included, for gap-free ids).
    The caller has checked `can_view_topic`."""
    return _with_relations(_visible(user, topic))


def readable_rows(user: User, topic: Topic, ids: Iterable[int], *fields: str) -> list[dict[str, Any]]:
    """`fields` of the messages `ids` of the topic that the user may read (read receipts)."""
    return list(_visible(user, topic).filter(pk__in=list(ids)).values(*fields))


def message_after(user: User, topic: Topic, after: int, limit: int) -> list[Message]:
    """Up to `limit` visible messages with id > after, oldest first (the `sync` read)."""
    qs = _for_wire(_visible(user, topic)).filter(id__gt=after)
    return ready_for_wire(list(qs.order_by("id")[:limit]), [topic])


# `changed_since` is a time the hub gave the client (`sync.done`'s `at`), but `changed_at` is written by
# whichever process made the change, and a change's transaction may commit a moment after its time:
# changes this much older than asked are sent again too (the client replaces a message with itself).
CHANGED_SINCE_MARGIN = timedelta(seconds=5)


def changed_up_to(user: User, topic: Topic, up_to: int, since: datetime, limit: int) -> list[Message]:
    """Visible messages with id <= up_to whose wire form changed after `since` — edited, deleted,
    reacted to, pinned or unpinned, replied to in their thread, promoted — oldest first: what a client
    that already had them missed while it was away (`sync` with `changed_since`). At most `limit`:
    the newest of them, since a page shows the newest messages (docs/chat.md, "Known limits")."""
    qs = _for_wire(_visible(user, topic)).filter(id__lte=up_to, changed_at__gt=since - CHANGED_SINCE_MARGIN)
    return ready_for_wire(list(qs.order_by("-id")[:limit])[::-1], [topic])


def withdrawn_up_to(user: User, topic: Topic, up_to: int, since: datetime, limit: int) -> list[int]:
    """Ids of the messages with id <= up_to whose audience narrowed after `since` (`marked_at`,
    written by chat.services.remark_thread: an alert's summary and its thread after the alert's TLP
    was raised) and which the user may NOT read now, deleted ones included, oldest first: what a
    client that was away must take off its page (`sync` with `changed_since` → `message.withdrawn`).
    Whether the user could read one before is not stored: "narrowed since, unreadable now" is the
    approximation — so a message they never had is named only if its own marking narrowed meanwhile,
    never for a reaction or an edit. A deleted one too: its tombstone goes only to its new audience.
    Only ids: a message's id is no secret (every message's `prev_id` names its predecessor whatever
    its audience, docs/chat.md). The same margin and bound as `changed_up_to` (the newest `limit`).
    Hub admins read everything: none."""
    readable = _visible(user, topic).filter(pk=OuterRef("pk"))
    qs = (Message.objects.filter(topic=topic, id__lte=up_to, marked_at__gt=since - CHANGED_SINCE_MARGIN)
          .filter(~Exists(readable)).order_by("-id").values_list("id", flat=True))
    return list(qs[:limit])[::-1]


# Read on every sync and, inside its transaction, by every posted message (its `prev_id`): compiled
# once (hub.lib.compiled_queries), since building the SQL cost more than the database took to answer.
_NEWEST_ID = CompiledQuery(lambda pk: Message.objects.filter(topic_id=pk).order_by("-id").values_list("id")[:1])


def latest_message_id(topic: Topic) -> int:
    """The topic's newest message id, 0 when it has none."""
    newest = _NEWEST_ID.rows(topic.pk)
    return newest[0][0] if newest else 0


IN_CHANNEL = Q(thread_root__isnull=True) | Q(also_channel=True)


def history(user: User, topic: Topic, *, after: int | None, before: int | None, limit: int,
            thread: Message | None = None) -> tuple[list[Message], bool]:
    """A page of history, oldest first, and whether more exist in the direction of travel.

    after=ID → the first `limit` after ID; before=ID → the last `limit` before ID; neither → the
    latest `limit`. Without `thread`: the channel (messages that start or are in no thread, and
    replies also sent to the channel); with it, that thread's replies."""
    qs = _for_wire(_visible(user, topic))
    qs = qs.filter(thread_root=thread) if thread is not None else qs.filter(IN_CHANNEL)
    if after is not None:
        rows = list(qs.filter(id__gt=after).order_by("id")[: limit + 1])
        return ready_for_wire(rows[:limit], [topic]), len(rows) > limit
    if before is not None:
        qs = qs.filter(id__lt=before)
    rows = list(qs.order_by("-id")[: limit + 1])
    more = len(rows) > limit
    return ready_for_wire(list(reversed(rows[:limit])), [topic]), more


def visible_attachment(user: User, topic: Topic, file_id: int) -> MessageAttachment | None:
    """A file of the topic whose message the user may read now (the same rule as history: the
    message's audience; not deleted). The caller has checked `can_view_topic`."""
    readable = _visible(user, topic).filter(deleted_at__isnull=True).values("id")
    return MessageAttachment.objects.filter(pk=file_id, message_id__in=readable).first()


def get_visible_message(user: User, topic: Topic, message_id: int) -> Message | None:
    return visible_messages(user, topic).filter(id=message_id).first()


def unread_counts(user: User, topics: list[Topic]) -> dict[int, int]:
    """{topic id: messages after the user's read marker, not written by them and not deleted}.

    One query: an OR of (topic, id > marker) ranges, which the (topic, id) index answers without
    reading the history before each marker."""
    if not topics:
        return {}
    markers = read_markers(user, topics)
    ranges = Q()
    for topic in topics:
        ranges |= Q(topic_id=topic.id, id__gt=markers.get(topic.id, 0))
    rows = (
        Message.objects.filter(ranges, deleted_at__isnull=True)
        .filter(IN_CHANNEL)  # a reply only in its thread is counted in the thread (thread_unread)
        .filter(audience_q(user))
        .filter(history_q(user, topics))
        .exclude(author=user)
        .values("topic_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {t.id: 0 for t in topics}
    counts.update({row["topic_id"]: row["n"] for row in rows})
    return counts


def read_markers(user: User, topics: list[Topic]) -> dict[int, int]:
    return dict(
        ReadMarker.objects.filter(user=user, topic__in=topics).values_list("topic_id", "last_read_id")
    )


def latest_ids(topics: list[Topic]) -> dict[int, int]:
    rows = Message.objects.filter(topic__in=topics).values("topic_id").annotate(last=Max("id"))
    return {row["topic_id"]: row["last"] for row in rows}


# How a search decides whether its words are common (docs/benchmarks.md, "Search over years"): at least
# SEARCH_COMMON_MATCHES matches among the newest SEARCH_PROBE_WINDOW messages (a density of 0.2 %).
SEARCH_PROBE_WINDOW = 5000
SEARCH_COMMON_MATCHES = 10
# A search word starting more of the index's words than this stays a prefix (`'w':*`) in the query.
SEARCH_PREFIX_WORDS = 64
_SIMPLE_WORD = re.compile(r"[a-z0-9]+")


def _tsquery_lexeme(word: str) -> str:
    """`word` quoted as one lexeme of tsquery's input syntax (taken as written, not parsed again)."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _search_match(words: list[str]) -> tuple[str, list[Any]] | None:
    """The SQL condition "the stored vector has every word, each as a word prefix", and its
    parameters; None when no message can match: a word of letters a-z and digits that starts no
    word of the index (the probe and the page would read the newest messages and the GIN index to
    find nothing).

    A prefix (`'lua':*`) costs PostgreSQL's GIN index far more than whole words: it collects every
    message of the prefix into a bitmap before the words are intersected, where a whole word's
    posting list is read skipping what the other words rule out — over a million messages, three
    common words that never occur together took 760-920 ms as prefixes and 70 ms as whole words
    (docs/benchmarks.md, "Search over years"). So each word of letters a-z and digits (every
    Vietnamese word once folded) is written as the whole words of the index that start with it,
    listed by `chat_search_word` (chat migration 0013): `'lua':*` becomes `('lua' | 'luat')`, the
    same messages. A word that starts more than SEARCH_PREFIX_WORDS of them stays a prefix, as does
    any other word (given to `to_tsquery` as before, which normalises it). The table lists every
    word of every stored vector (its triggers run in the writing transaction), so a word that starts
    none of them is in no message."""
    simple = [w for w in dict.fromkeys(words) if _SIMPLE_WORD.fullmatch(w)]
    others = [w for w in dict.fromkeys(words) if w not in simple]
    expanded: list[list[str]] = []
    if simple:
        with connection.cursor() as cursor:
            # [w, w with its last letter the next one): the words starting with w, in the "C" collation.
            cursor.execute(
                "SELECT ARRAY(SELECT word FROM chat_search_word WHERE word >= q.lo AND word < q.hi "
                "ORDER BY word LIMIT %s) FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS q(lo, hi, i) "
                "ORDER BY q.i",
                [SEARCH_PREFIX_WORDS + 1, simple, [w[:-1] + chr(ord(w[-1]) + 1) for w in simple]])
            expanded = [row[0] for row in cursor.fetchall()]
    if any(not whole for whole in expanded):
        return None
    terms = []
    for word, whole in zip(simple, expanded, strict=True):
        if len(whole) <= SEARCH_PREFIX_WORDS:
            terms.append("(" + " | ".join(_tsquery_lexeme(w) for w in whole) + ")")
        else:
            terms.append(_tsquery_lexeme(word) + ":*")
    if not others:
        return "search_vector @@ %s::tsquery", [" & ".join(terms)]
    prefixes = " & ".join(f"{word}:*" for word in others)
    if not terms:
        return "search_vector @@ to_tsquery('simple', %s)", [prefixes]
    return "search_vector @@ (%s::tsquery && to_tsquery('simple', %s))", [" & ".join(terms), prefixes]


def _search_condition(match: str, params: list[Any]) -> tuple[str, list[Any]]:
    """The WHERE clause for a search's condition (`_search_match`), in the form whose plan suits how
    common its words are.

    PostgreSQL's planner cannot judge that: it multiplies the words' frequencies as if they were
    independent, and the words of a phrase are not ("lừa đảo qua thư điện tử" matched 8 % of a million
    messages where it expected 0.03 %), nor does it know prefixes. Left to choose, it read and sorted
    80,000 matches from the GIN index to show 50 (3.2 s); and a GIN bitmap is built whole before any
    LIMIT applies, so counting matches through the index costs as much for a common word (0.5 s).
    What is cheap is looking at the newest messages: one probe checks the stored vectors of the
    newest SEARCH_PROBE_WINDOW messages by primary key range (milliseconds, whatever the table's
    size), and the page's query takes a form that leaves the planner one plan:
    - common (SEARCH_COMMON_MATCHES or more there): `(… @@ …) IS TRUE`, which no index can serve, so
      the newest messages are read backwards by primary key until a page has matched;
    - rare: `id = ANY(ARRAY(<ids from the GIN index>))`, the few matches fetched from the index once,
      then sorted newest first — never a walk through the whole history for a word nobody wrote.
    The visibility rule applies to the page in both forms (the caller's filters)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM chat_message WHERE id > (SELECT max(id) FROM chat_message) - %s "
            f"AND ({match}) IS TRUE LIMIT %s) AS recent",
            [SEARCH_PROBE_WINDOW, *params, SEARCH_COMMON_MATCHES])
        (recent,) = cursor.fetchone()
    if recent >= SEARCH_COMMON_MATCHES:
        return f"(chat_message.{match}) IS TRUE", params
    return f"chat_message.id = ANY(ARRAY(SELECT id FROM chat_message WHERE {match}))", params


def search_messages(user: User, q: str, topic: Topic | None = None, *, author: str | None = None,
                    centre: str | None = None, since: datetime | None = None,
                    until: datetime | None = None) -> QuerySet[Message]:
    """Messages the user may see matching every word of `q` (each as a word prefix), newest first.

    PostgreSQL: full-text search over the stored `search_vector` column, generated from the body by
    `chat_search_document` (unaccent, punctuation as spaces, the 'simple' configuration; migrations
    0003 and 0006) and GIN-indexed, with prefix queries; the query's form is chosen by how many
    messages match (`_search_condition`), so a page costs the same over a million messages as over
    a thousand.
    Elsewhere: the stored folded `search_text`, each word matched at a word start. Both are
    insensitive to case and Vietnamese diacritics.

    Filters (the search page): `author` (a username), `centre` (the author's centre code), and
    `since` (inclusive) / `until` (exclusive) on the time the message was written. They only ever
    narrow what the visibility rule (the topics the user may see, the messages' audiences) gives."""
    return _search(user, search_words(q), _search_topics(user, topic), author=author, centre=centre,
                   since=since, until=until)


def _search_topics(user: User, topic: Topic | None) -> list[Topic]:
    """The topics a search reads: the one asked for (the caller has checked it), else all the user sees."""
    return [topic] if topic is not None else visible_topics(user, kind=None)


def _search(user: User, words: list[str], topics: list[Topic], *, author: str | None, centre: str | None,
            since: datetime | None, until: datetime | None) -> QuerySet[Message]:
    """`search_messages` over `topics` (from `_search_topics`): the visibility rule and the filters."""
    if not words:
        return Message.objects.none()
    qs: QuerySet[Message] = (Message.objects.filter(topic__in=topics, deleted_at__isnull=True).filter(audience_q(user))
          .filter(history_q(user, topics)))
    if author:
        qs = qs.filter(author__username=author)
    if centre:
        qs = qs.filter(author__centre__code=centre.upper())
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    if until is not None:
        qs = qs.filter(created_at__lt=until)
    if settings.IS_POSTGRES:
        match = _search_match(words)
        if match is None:
            return Message.objects.none()
        condition, params = _search_condition(*match)
        qs = qs.extra(where=[condition], params=params)
    else:
        for word in words:
            qs = qs.filter(search_text__contains=" " + word)
    return _for_wire(qs).order_by("-id")


@contextmanager
def search_transaction() -> Iterator[None]:
    """The transaction a search's statements (the words' lookup, the probe, the page) run in: on
    PostgreSQL with parallel query off for this transaction only (`SET LOCAL`). Their plans end in
    a LIMIT over a walk that stops early, but the planner cannot see how early (the probe's window
    is bounded by a subquery's value, the common form's condition is opaque to it, and it takes
    the words of a phrase as independent), so it costed them as long scans and gave them two
    parallel workers; starting those took 10-40 ms at load, where the walks themselves took
    0.3-15 ms (docs/benchmarks.md, "Search over years"). Others' aggregates keep their parallel plans."""
    nested = connection.in_atomic_block  # then this is a savepoint, whose end does not end a SET LOCAL
    with transaction.atomic():
        if not settings.IS_POSTGRES:
            yield
            return
        before = None
        with connection.cursor() as cursor:
            if nested:
                cursor.execute("SHOW max_parallel_workers_per_gather")
                before = cursor.fetchone()[0]
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        try:
            yield
        finally:
            if before is not None:  # the caller's transaction goes on with its own setting
                with connection.cursor() as cursor:
                    cursor.execute("SELECT set_config('max_parallel_workers_per_gather', %s, true)", [before])


def search_page(user: User, q: str, topic: Topic | None = None, *, author: str | None = None,
                centre: str | None = None, since: datetime | None = None, until: datetime | None = None,
                cursor: str | None = None, limit: int | None = None) -> Page[Message]:
    """A page of `search_messages` (keyset by id, newest first) read in `search_transaction`, ready
    for the wire: each message's `topic` is the whole topic the search was allowed to read (its
    names and kind name the hit), not read again."""
    topics = _search_topics(user, topic)
    with search_transaction():
        page = keyset_page(_search(user, search_words(q), topics, author=author, centre=centre, since=since,
                                   until=until), ["-id"], cursor, limit)
    ready_for_wire(page.results, topics)
    return page


# --- threads ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThreadState:
    """Who took part in a thread, as one statement read it (`thread_state`)."""

    participants: frozenset[int]  # its root's author and everyone who replied
    count: int  # the root's reply_count
    newest: int  # the id of its newest message (its root's, without replies)


# Read by every reply before its transaction; compiled once (hub.lib.compiled_queries).
_THREAD_STATE = CompiledQuery(
    lambda root, after: Message.objects.filter(Q(pk=root) | Q(thread_root_id=root, id__gt=after))
    .values("author_id").annotate(newest=Max("id"), count=Max("reply_count")).order_by()
    .values_list("author_id", "newest", "count"), arity=2)


def thread_state(root_id: int, *, after: int = 0) -> ThreadState:
    """Who took part in a thread, with its root's count and its newest message read in the same
    statement (so a later change of the count says someone replied since); with `after`, only the
    repliers of messages after that id (and the root's author)."""
    rows = _THREAD_STATE.rows(root_id, after)
    return ThreadState(participants=frozenset(author for author, _newest, _count in rows),
                       count=max((count for _author, _newest, count in rows), default=0),
                       newest=max((newest for _author, newest, _count in rows), default=0))


def my_threads(user: User, topic: Topic, limit: int = 50) -> list[dict[str, Any]]:
    """The threads of a topic the user took part in (started or replied to), the latest reply first,
    each with its unread replies (after the user's thread marker, by others, visible, not deleted):
    [{"root": Message, "unread": N, "last_read_id": ID}]."""
    visible = _visible(user, topic)
    replied = visible.filter(thread_root__isnull=False, author=user).values("thread_root_id")
    roots = list(_for_wire(visible.filter(reply_count__gt=0).filter(Q(author=user) | Q(pk__in=replied)))
                 .order_by("-last_reply_at", "-id")[:limit])
    ready_for_wire(roots, [topic])
    markers = dict(ThreadReadMarker.objects.filter(user=user, root__in=roots).values_list("root_id", "last_read_id"))
    ranges = Q(pk__in=[])
    for root in roots:
        ranges |= Q(thread_root_id=root.id, id__gt=markers.get(root.id, 0))
    counts = dict(visible.filter(ranges, deleted_at__isnull=True).exclude(author=user).values("thread_root_id")
                  .annotate(n=Count("id")).order_by().values_list("thread_root_id", "n")) if roots else {}
    return [{"root": root, "unread": counts.get(root.id, 0), "last_read_id": markers.get(root.id, 0)}
            for root in roots]


# --- pins and conversations ------------------------------------------------------------------------


def pinned_messages(user: User, topic: Topic) -> list[Pin]:
    """The topic's pins the user may read (their messages' audiences applied), newest pin first,
    each with its message ready for the wire."""
    pins = list(Pin.objects.filter(topic=topic, message__in=_visible(user, topic), message__deleted_at__isnull=True)
                .select_related("pinned_by", "pinned_by__centre").order_by("-pinned_at", "-id"))
    messages = ready_for_wire(list(_for_wire(Message.objects.filter(pk__in=[p.message_id for p in pins]))), [topic])
    by_id = {m.id: m for m in messages}
    for pin in pins:
        pin.message = by_id[pin.message_id]
    return pins


def may_pin(user: User, topic: Topic) -> bool:
    """Who may pin in a topic: anyone who sees it, unless it names `pin_roles` (the security topic:
    security officers and managers); hub admins in every topic they see."""
    return can_view_topic(user, topic) and pin_role_allows(user, topic)


def pin_role_allows(user: User, topic: Topic) -> bool:
    """`may_pin` for a topic already known to be visible to the user (topic lists)."""
    roles = topic.pin_roles or []
    return not roles or user.is_hub_admin or any(role in roles for role in user.roles)


def conversation_members(topics: list[Topic]) -> dict[int, list[User]]:
    """{topic id: its members (with their centres)}, for the direct conversations among `topics`."""
    ids = [t.pk for t in topics if t.kind == Topic.Kind.DIRECT]
    out: dict[int, list[User]] = {pk: [] for pk in ids}
    if ids:
        rows = list(ConversationMember.objects.filter(topic_id__in=ids).order_by("id")
                    .values_list("topic_id", "user_id"))
        people = people_by_id(uid for _, uid in rows)
        for topic_id, user_id in rows:
            out[topic_id].append(people[user_id])
    return out


def my_history_after(user: User, topic: Topic) -> int:
    """The message id after which the user reads a conversation (0: its whole history)."""
    if topic.kind != Topic.Kind.DIRECT:
        return 0
    return history_cutoffs(user, [topic.pk]).get(topic.pk, 0)


def find_conversation(user_ids: set[int]) -> Topic | None:
    """The direct conversation whose members are exactly these people, if there is one."""
    candidates = (Topic.objects.filter(kind=Topic.Kind.DIRECT).annotate(n=Count("members"))
                  .filter(n=len(user_ids)))
    for uid in user_ids:
        candidates = candidates.filter(pk__in=ConversationMember.objects.filter(user_id=uid).values("topic_id"))
    return candidates.order_by("id").first()


def people_matching(q: str, *, exclude: User, limit: int = 20) -> list[User]:
    """Active people of any centre whose username or name contains `q` (the conversation picker:
    colleagues across the centres may see each other's name and centre)."""
    q = (q or "").strip()[:100]
    qs = User.objects.select_related("centre").filter(is_active=True).exclude(pk=exclude.pk)
    if q:
        qs = qs.filter(Q(username__icontains=q) | Q(display_name__icontains=q) | Q(first_name__icontains=q)
                       | Q(last_name__icontains=q) | Q(centre__code__iexact=q))
    return list(qs.order_by("centre__code", "username")[:limit])
