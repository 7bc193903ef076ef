"""Promote a conversation to a tracked alert or support request, in one gesture.

Someone in `an-toan-thong-tin` writes "Đà Nẵng đang thấy quét cổng từ 203.0.113.7", three centres
answer; the security officer promotes those messages: the new alert (or request) quotes them — author,
centre, time, link, text — names who promoted them, and starts with the indicators the alert's own
parser finds in the text (`alerts.indicators.extract`) for the person to confirm. The messages then
carry `promoted_to` (live on the topic's sockets, in history and sync): one message may become one
alert and one request; a second promotion to the same kind is refused (409) with the existing link.

Who may promote: whoever may raise that alert or open that request (the alert and request services
check it, exactly as for a new one) and may read every promoted message.

Never showing a message to anyone who could not already read it. The new item's readers must all
be readers of every quoted message — checked against every (centre, role) there is, and the named
people, not just today's staff (`_wider_than`). The prefilled TLP and sharing are chosen to satisfy
it (a message shared with HT and DN becomes a TLP:RED alert of HT shared with DN). When the promoter
asks for something wider, the promotion is REFUSED (403, naming TLP and sharing); they may narrow it,
or promote with `"quote": false`, which keeps the messages' author, centre, time and link but leaves
their text out — and then nothing is taken from the text (title required, no prefilled description
or indicators). We refuse rather than silently drop the text because the author of a restricted
message chose its readers; the promoter should see that and decide, not find the quote missing.

Never marked looser than what it quotes. A quoting item's TLP is at least the tightest of the
quoted messages' (`check_quote_floor`): asking for a looser one is refused (400 on `tlp`, naming the floor),
as a reply's TLP below its root's is (hub.sharing.clean_tlp) — not silently raised, for the same reason
as above; the prefilled marking already satisfies it, and `"quote": false` is not bound by it.

Never wider later. The item keeps only *which* messages it quotes (`origin_of`: ids, the topic, who
promoted and when), never their text. Whoever reads the item — the API's `promoted_from`, the alert
and request pages, a webhook (as its owner, within its `max_tlp`) — gets each quote rendered for them
from the live message (`promoted_from`): its author, time and text only if they may read that message
*now* (the topic's rule and the message's audience: `chat.selectors.may_read_messages`) and it is not deleted; otherwise
a placeholder ("a message you may not read", "a deleted message") with nothing of it. So a message
deleted or re-marked later never shows through the item. But the item's own `description` (and an alert's
`indicators`) is prefilled from the messages' text, so an item promoted with `"quote": true` stays
bound by them for its life, not by its own marking alone: every move that may widen it — an alert's
TLP or sharing (alerts.services.update_alert), a request's TLP, target centre, status, watchers
(requests.services._keeping_quotes) — runs `check_quote_floor`, the same comparison as at promotion,
against the live messages named in its origin, and is refused (403 naming who it would add, 400 on
`tlp`) with nothing changed. An item promoted with `"quote": false` is not bound.

What every recipient shares (an alert's frame and list row, the alert's append-only RAISED entry, the
request's `created` event) carries only the reference (`origin_reference`: who promoted, when, whether
quoted, the message ids) — so the record never holds a quote to show to someone who may not read it;
rows written before this rule still hold the text in the database and are shown through
`origin_reference` too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chat.models import Message, Topic
from chat.selectors import anchor_id, may_read_messages
from chat.serializers import author_out, message_out
from chat.services import live_audience
from hub.errors import FORBIDDEN, INVALID, NOT_FOUND, HubError, define
from hub.lib.jsonutil import timestamp
from hub.models import Centre, Role, User
from hub.realtime.audience import Audience
from hub.realtime.groups import topic_group
from hub.realtime.publisher import broadcast_on_commit
from hub.sharing import Tlp, rank, tightest

KINDS = ("alert", "ticket")
# What each kind is called in a sentence, in the reader's language.
KIND_NAMES = {"alert": _("alert"), "ticket": _("request")}
MAX_MESSAGES = 50
SECURITY_TOPIC = "an-toan-thong-tin"
ALREADY_PROMOTED = define("already_promoted", http_status=409)
# What a reader sees of a quoted message they may not read (or that was deleted) — and nothing more.
UNREADABLE = _("a message you may not read")
DELETED = _("a deleted message")


class AlreadyPromoted(HubError):
    """A message already became an item of this kind: 409, with the existing link in the error body."""

    def __init__(self, message_id: int, link: dict[str, Any]) -> None:
        super().__init__(ALREADY_PROMOTED, _("Message %(id)s was already promoted to %(kind)s #%(target)s."),
                         extra={"promoted_to": link, "message": message_id}, id=message_id,
                         kind=KIND_NAMES.get(link["kind"], link["kind"]),
                         target=link["id"])


# --- reading what is promoted ----------------------------------------------------------------------------


def _messages(user: User, topic: Topic, message_id: int, include: Iterable[Any]) -> list[Message]:
    """The promoted message and the included ones (same topic, readable by the promoter, not
    deleted), oldest first, locked for this transaction when inside one."""
    ids = {message_id}
    for value in include or ():
        if isinstance(value, bool) or not isinstance(value, int):
            raise HubError(INVALID, _("include: a list of message ids of this topic."), fields=["include"])
        ids.add(value)
    if len(ids) > MAX_MESSAGES:
        raise HubError(INVALID, _("include: at most %(n)s messages."), fields=["include"], n=MAX_MESSAGES)
    from chat.selectors import visible_messages

    qs = visible_messages(user, topic).filter(pk__in=ids, deleted_at__isnull=True).order_by("id")
    if transaction.get_connection().in_atomic_block:
        qs = qs.select_for_update(of=("self",))
    found = list(qs)
    for message in found:
        message.topic = topic  # the one already read (its rule is read per message: `_wider_than`)
    missing = sorted(ids - {m.pk for m in found})
    if missing:
        field = "include" if missing != [message_id] else "id"
        raise HubError(NOT_FOUND, _("No message %(id)s in %(slug)s."), fields=[field], id=missing[0],
                       slug=topic.slug)
    return found


def _reads_all(person: User, messages: list[Message | None]) -> bool:
    """Whether `person` may read every one of `messages` — the one rule of who reads a message
    (`chat.selectors.may_read_messages`; a deleted one by whoever could read it), one that no longer
    exists (None) by no one. An unsaved archetype (`_archetypes`: whoever of a centre and role) is
    nobody's member: a direct conversation, read by its named members alone, is never theirs (its
    membership rule needs a stored person; a request thread's reads the request's centres and roles)."""
    present = [m for m in messages if m is not None]
    if len(present) != len(messages):
        return False
    if person.pk is None and any(m.topic.kind == Topic.Kind.DIRECT for m in present):
        return False
    return all(may_read_messages(person, present, deleted_too=True))


def _archetypes() -> list[User]:
    """One unsaved person per (centre, role) — and per role without a centre: whoever might exist,
    now or later. Hub admins are left out: they read every message anyway."""
    roles = [role for role in Role.values if role != Role.HUB_ADMIN]
    people = []
    for centre in [*Centre.objects.all(), None]:
        for role in roles:
            people.append(User(username=f"~{centre.code if centre else '-'}.{role}", centre=centre, role=role,
                               is_active=True))
    return people


def _wider_than(audience: Audience, messages: list[Message | None], named: Iterable[User] = (),
                before: Audience | None = None) -> list[str]:
    """Who the item's audience reaches (and `before` did not) that some quoted message does not
    ("QB engineer"), empty when it reaches no one new. Each message is read by its own topic's rule;
    one that no longer exists (None) by no one."""
    outside: list[str] = []
    for person in [*_archetypes(), *named]:
        if audience.allows(person) and not (before is not None and before.allows(person)) and not _reads_all(
                person, messages):
            code = person.centre.code if person.centre is not None else "—"
            label = f"{code} {Role(person.role).label}" if person.pk is None else person.username
            if label not in outside:
                outside.append(label)
    return outside


def quotes(origin: dict[str, Any] | None) -> bool:
    """Whether an item's `origin` is a promotion that quoted its messages' text (bound by
    `check_quote_floor`); `"quote": false` and items not promoted are not."""
    return origin is not None and origin.get("kind") == "conversation" and bool(origin.get("quoted"))


def check_quote_floor(origin: dict[str, Any] | None, *, kind: str, audience: Audience, tlp: str,
                      fields: list[str], named: Iterable[User] = (), before: Audience | None = None,
                      before_tlp: str | None = None, messages: list[Message] | None = None) -> None:
    """THE rule of an item that quotes messages' text (module docstring, "Never showing a message…" and
    "Never wider later"): its readers (`audience`, and the `named` people it admits by name) all
    read every quoted message, and its `tlp` is no looser than their tightest — else refused, naming
    who it would add (403) or the floor (400 on `tlp`), before anything is written.

    At promotion (`before` None) against everyone the item reaches and the promoted `messages`;
    afterwards, in every move that may widen the item (alerts.services._change_sharing,
    requests.services._keeping_quotes), against who the move adds to `before` and a TLP looser than
    `before_tlp`, on the live messages named by `origin` (one missing reads as read by no one)."""
    if origin is None or not quotes(origin):
        return
    quoted: list[Message | None] = list(messages or [])
    if messages is None:
        ids = [m["id"] for m in origin.get("messages") or [] if isinstance(m, dict) and "id" in m]
        live = {m.pk: m for m in Message.objects.filter(pk__in=ids).select_related("topic")
                .prefetch_related("topic__allowed_centres")}
        quoted = [live.get(pk) for pk in ids]
    outside = _wider_than(audience, quoted, named, before)
    if outside:
        message = _("This %(kind)s would show the promoted messages to people who cannot read them (%(who)s). "
                    "Narrow its TLP or sharing, or promote without quoting their text (quote: false).") \
            if before is None else _("This %(kind)s quotes messages that %(who)s may not read; it may not be shown "
                                     "to them.")
        raise HubError(FORBIDDEN, message, fields=fields, kind=KIND_NAMES[kind], who=", ".join(outside[:6]))
    floor = tightest(*(m.tlp for m in quoted if m is not None))
    if rank(tlp) < rank(floor) and (before_tlp is None or rank(tlp) < rank(before_tlp)):
        message = _("tlp: this %(kind)s quotes TLP:%(floor)s messages, so it may not be marked looser than "
                    "TLP:%(floor)s. Choose TLP:%(floor)s or tighter, or promote without quoting their text "
                    "(quote: false).") if before is None else _(
            "tlp: this %(kind)s quotes TLP:%(floor)s messages, so it may not be marked looser than TLP:%(floor)s.")
        raise HubError(INVALID, message, fields=["tlp"], kind=KIND_NAMES[kind], floor=floor.upper())


# --- what a promotion starts from ------------------------------------------------------------------------


def _first_line(text: str, limit: int = 200) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    line = re.sub(r"[*`]|^[#>\s]+", "", line).strip()  # Markdown emphasis and heading/quote marks; defanged
    # brackets ("evil[.]vn") stay: a title is no place to make a malicious address clickable
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _readers_scope(topic: Topic, messages: list[Message]) -> list[str] | None:
    """The narrowest set of centres every promoted message is limited to (their sharing scopes and
    the topic's centres), or None when none of them is limited to centres."""
    scope: set[str] | None = set(c.code for c in topic.allowed_centres.all()) or None
    for message in messages:
        centres = (message.audience or {}).get("centres")
        if centres is not None:
            scope = set(centres) if scope is None else scope & set(centres)
    return sorted(scope) if scope is not None else None


def draft(*, user: User, topic: Topic, message_id: int, to: str, include: Iterable[Any] = (),
          quote: bool = True) -> dict[str, Any]:
    """What a promotion would create when nothing more is given (`GET …/promote`, the form's start):
    the fields of POST /api/v1/alerts (or /tickets) prefilled from the messages — with the indicators
    found in their text, for the person to confirm — whose TLP and sharing keep the item within the
    messages' readers; the messages it would quote; and `too_wide`, who the prefilled item would
    reach that may not read them (empty unless no marking can: then only `quote: false` works)."""
    if to not in KINDS:
        raise HubError(INVALID, _("to: alert or ticket."), fields=["to"])
    messages = _messages(user, topic, message_id, include)
    fields = _prefill(user, topic, messages, message_id, to, quote)
    try:
        if quote:
            _check_readers(user, topic, messages, to, fields)
        too_wide: list[str] = []
    except HubError as exc:
        if "who" not in exc.params:
            raise
        too_wide = str(exc.params["who"]).split(", ")
    already = [{"message": m.pk, **p} for m in messages for p in m.promoted_to or [] if p.get("kind") == to]
    return {"to": to, "fields": fields, "quote": quote, "too_wide": too_wide, "already_promoted": already,
            "messages": [_quote_out(m, topic.slug, quote) for m in messages]}


def _prefill(user: User, topic: Topic, messages: list[Message], message_id: int, to: str,
             quote: bool) -> dict[str, Any]:
    main = next(m for m in messages if m.pk == message_id)
    text = "\n\n".join(m.body for m in messages)
    tlp = tightest(*(m.tlp for m in messages))
    scope = _readers_scope(topic, messages)
    mine = user.centre.code if user.centre is not None else None
    restricted_roles = bool(topic.allowed_roles) or any((m.audience or {}).get("roles") for m in messages)
    fields: dict[str, Any] = {"title": _first_line(main.body) if quote else "",
                              "description": text if quote else ""}
    if to == "alert":
        from alerts.indicators import extract

        shared = [code for code in (scope or []) if code != mine]
        if scope is not None or restricted_roles:
            # Limited to some centres (or roles): RED is the marking that names its readers.
            tlp = Tlp.RED if scope is not None else tightest(tlp, Tlp.AMBER)
        fields.update(severity="medium", tlp=tlp, shared_with=shared if scope is not None else [],
                      indicators=[{"type": i.type, "value": i.value} for i in extract(text)] if quote else [],
                      affected_systems=[], recommended_actions="")
    else:
        authors = [m.author.centre.code for m in messages
                   if m.author.centre is not None and m.author.centre.code != mine]
        target = next(iter(authors), None)
        if target is None and scope is not None:
            target = next((code for code in scope if code != mine), None)
        fields.update(category="security" if topic.slug == SECURITY_TOPIC else "other", priority="normal",
                      target_centre=target, tlp=tightest(tlp, Tlp.AMBER))
    return fields


# --- promoting -------------------------------------------------------------------------------------------


def origin_of(user: User, topic: Topic, messages: list[Message], quote: bool) -> dict[str, Any]:
    """What the new item keeps of where it came from: the topic, who promoted, when, whether the text is
    quoted, and which messages — never their text (rendered per reader: `promoted_from`)."""
    return {"kind": "conversation", "topic": {"slug": topic.slug, "name_vi": topic.name_vi, "name_en": topic.name_en},
            "promoted_by": author_out(user), "promoted_at": timestamp(timezone.now()), "quoted": quote,
            "messages": [{"id": m.pk} for m in messages]}


def origin_reference(origin: dict[str, Any] | None) -> dict[str, Any] | None:
    """What every recipient of the item may see of its origin (its frame, its list row, its
    append-only record): who promoted, when, whether quoted, the message ids; nothing of the messages
    or their topic. A STIX origin is the bundle's reference already."""
    if not origin or origin.get("kind") != "conversation":
        return origin
    return {"kind": "conversation", "promoted_by": origin.get("promoted_by"), "promoted_at": origin.get("promoted_at"),
            "quoted": bool(origin.get("quoted")),
            "messages": [{"id": m["id"]} for m in origin.get("messages") or [] if isinstance(m, dict) and "id" in m]}


def recorded(data: Any) -> Any:
    """An item's append-only record of its creation (an alert's RAISED entry `data`, a request's
    `created` event `after`) as shown: its `promoted_from` reduced to the reference — including rows
    written before quotes were rendered per reader, which still hold the text."""
    if isinstance(data, dict) and data.get("promoted_from"):
        return {**data, "promoted_from": origin_reference(data["promoted_from"])}
    return data


def _quote_out(message: Message, slug: str, quote: bool) -> dict[str, Any]:
    """A quoted message as someone who may read it sees it (its text only when the item quotes it)."""
    item = {"id": message.pk, "readable": True, "author": author_out(message.author),
            "centre": message.author.centre.code if message.author.centre is not None else None,
            "created_at": timestamp(message.created_at), "url": f"/topics/{slug}/#m-{message.pk}",
            "tlp": message.tlp}
    if quote:
        item.update(body=message.body, html=message.html)
    return item


def promoted_from(origin: dict[str, Any] | None, viewer: User, *, max_tlp: str | None = None) -> dict[str, Any] | None:
    """An item's `promoted_from` as `viewer` may read it now (module docstring, "Never wider later"):
    each quote from the live message when `viewer` may read it and it is not deleted — and, for a
    webhook (`max_tlp`), when its marking may leave by it — else a placeholder; the topic only when
    `viewer` may see it. A fixed number of queries for the whole origin (two for a channel's messages;
    for a conversation's, its topic's check and the viewer's history cutoff: four), whatever the number
    of messages (`chat.selectors.may_read_messages`): read only by an item's detail, never by lists or
    frames."""
    reference = origin_reference(origin)
    if reference is None or reference.get("kind") != "conversation":
        return reference
    from notify.tlp import webhook_may_carry

    ids = [m["id"] for m in reference["messages"]]
    found = list(Message.objects.filter(pk__in=ids).select_related(
        "author", "author__centre", "topic").prefetch_related("topic__allowed_centres"))
    live = {m.pk: m for m, ok in zip(found, may_read_messages(viewer, found, deleted_too=True), strict=True) if ok}
    quoted = []
    topic: Topic | None = None
    for pk in ids:
        message = live.get(pk)
        if message is None or (max_tlp is not None and not webhook_may_carry(message, max_tlp)):
            quoted.append({"id": pk, "readable": False, "placeholder": str(UNREADABLE)})
            continue
        topic = message.topic
        if message.deleted_at is not None:
            quoted.append({"id": pk, "readable": False, "placeholder": str(DELETED)})
        else:
            quoted.append(_quote_out(message, topic.slug, reference["quoted"]))
    return {**reference, "topic": {"slug": topic.slug, "name_vi": topic.name_vi, "name_en": topic.name_en}
            if topic is not None else None, "messages": quoted}


def promote(*, user: User, topic: Topic, message_id: int, to: Any, fields: dict[str, Any],
            include: Iterable[Any] = (), quote: bool = True) -> tuple[str, Any]:
    """Create the alert or request from the messages; returns (kind, the new alert or ticket).

    `fields` are those of POST /api/v1/alerts or /tickets that were given (a null is given: a request
    for "any centre"); omitted ones are prefilled (`draft`)."""
    if to not in KINDS:
        raise HubError(INVALID, _("to: alert or ticket."), fields=["to"])
    if not quote and not (fields.get("title") or "").strip():
        raise HubError(INVALID, _("title: required when the messages' text is left out (quote: false)."),
                       fields=["title"])
    with transaction.atomic():
        messages = _messages(user, topic, message_id, include)
        for message in messages:
            link = next((p for p in message.promoted_to or [] if p.get("kind") == to), None)
            if link is not None:
                raise AlreadyPromoted(message.pk, link)
        prefilled = _prefill(user, topic, messages, message_id, to, quote)
        if "tlp" in fields and "shared_with" not in fields:
            prefilled.pop("shared_with", None)  # the prefilled sharing goes with the prefilled TLP only
        values = {**prefilled, **fields}
        if quote:
            _check_readers(user, topic, messages, to, values)
        origin = origin_of(user, topic, messages, quote)
        if to == "alert":
            item = _raise(user, values, origin)
        else:
            item = _open(user, values, origin)
        link = {"kind": to, "id": item.pk}
        for message in messages:
            # Locked by `_messages`; changed_at and version: for a client away meanwhile (`sync` with
            # `changed_since`) and the order of the message's changes.
            message.promoted_to = [*(message.promoted_to or []), link]
            message.save(update_fields=["promoted_to", *message.mark_changed()])
            broadcast_on_commit([topic_group(topic.slug)], {"type": "message.updated", "message": message_out(message)},
                                live_audience(topic, audience=Audience.from_meta(message.audience),
                                              anchor=anchor_id(message)))
    return to, item


def _check_readers(user: User, topic: Topic, messages: list[Message], to: str, values: dict[str, Any]) -> None:
    """`check_quote_floor` for the item the promotion would create from `values`."""
    if to == "alert":
        from alerts.selectors import marking_audience, marking_scope

        shared = [str(c).strip().upper() for c in values.get("shared_with") or [] if isinstance(c, str)]
        raw_tlp = values.get("tlp")
        raw_tlp = raw_tlp.lower() if isinstance(raw_tlp, str) else raw_tlp
        tlp = raw_tlp if isinstance(raw_tlp, str) and raw_tlp in Tlp.values else Tlp.GREEN
        mine = user.centre.code if user.centre is not None else None
        audience = marking_audience(tlp, marking_scope(tlp, shared, mine))
        named: list[User] = []
    else:
        from requests.selectors import ticket_audience

        raw_target = values.get("target_centre")
        target = raw_target.strip().upper() or None if isinstance(raw_target, str) else None
        parties = frozenset(filter(None, [user.centre.code if user.centre is not None else None, target]))
        raw_tlp = values.get("tlp")
        raw_tlp = raw_tlp.lower() if isinstance(raw_tlp, str) else raw_tlp  # as requests.services reads it
        tlp = raw_tlp if isinstance(raw_tlp, str) and raw_tlp in Tlp.values else Tlp.AMBER
        audience = ticket_audience(tlp, status="new", parties=parties, any_centre=target is None,
                                   watchers=frozenset({user.pk}))
        named = [user]
    check_quote_floor(origin_of(user, topic, messages, True), kind=to, audience=audience, tlp=tlp,
                      fields=["tlp", "shared_with" if to == "alert" else "target_centre"], named=named,
                      messages=messages)


def _raise(user: User, values: dict[str, Any], origin: dict[str, Any]) -> Any:
    from alerts.services import raise_alert

    allowed = ("title", "severity", "tlp", "description", "indicators", "affected_systems", "recommended_actions",
               "shared_with")
    return raise_alert(by=user, origin=origin, **{k: values[k] for k in allowed if k in values})


def _open(user: User, values: dict[str, Any], origin: dict[str, Any]) -> Any:
    from requests.services import create_ticket

    allowed = ("title", "description", "category", "priority", "target_centre", "tlp")
    return create_ticket(by=user, origin=origin, **{k: values[k] for k in allowed if k in values})
