"""HTTP API of topic channels (`/api/v1/topics…`, `/api/v1/search`); views are thin over services."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Literal

from django.conf import settings
from django.http import FileResponse, HttpResponse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from ninja import Field, Router, Schema, Status

from alerts.api import AlertDetailOut
from chat.models import Message, Topic
from chat.promotion import MAX_MESSAGES, draft, promote
from chat.selectors import (
    can_view_topic,
    conversation_members,
    get_topic,
    get_visible_message,
    history,
    history_cutoffs,
    latest_ids,
    my_threads,
    people_matching,
    pin_role_allows,
    pinned_messages,
    read_markers,
    search_page,
    unread_counts,
    visible_attachment,
    visible_topics,
)
from chat.serializers import author_out, message_out, topic_out
from chat.services import (
    add_members,
    delete_message,
    edit_message,
    leave_conversation,
    mark_thread_read,
    mark_topic_read,
    post_message,
    set_pinned,
    start_conversation,
    toggle_reaction,
)
from chat.text import highlight, search_words
from hub.errors import FORBIDDEN, INVALID, NOT_FOUND, HubError, invalid
from hub.lib.api_support import (
    ERRORS,
    ApiRequest,
    InSchema,
    PersonOut,
    Timestamp,
    clamp_limit,
    decode_cursor,
    encode_cursor,
    invalid_cursor,
    trusted_json,
)
from hub.lib.inputs import MAX_ID, check_year, parse_id, parse_ids
from hub.lib.jsonutil import timestamp
from hub.lib.uploads import check_length, multipart_body
from requests.api import TicketDetailOut

router = Router(tags=["topics"])

SEARCH_MAX_CHARS = 200


class MentionsOut(Schema):
    users: list[str]
    centres: list[str]


class PromotedLinkOut(Schema):
    kind: Literal["alert", "ticket"]
    id: int


class ReactionOut(Schema):
    emoji: str
    count: int
    users: list[str] = Field(description="Usernames of those who reacted with it, in the order they did.")


class MessageFileOut(Schema):
    id: int
    name: str = Field(description="The uploader's file name.")
    content_type: str = Field(description="Decided from the name by the hub's upload rule, never the client's word.")
    size: int = Field(description="Bytes.")
    image: bool = Field(description="A picture the hub could read: it has a thumbnail and opens inline.")
    width: int | None = None
    height: int | None = None
    url: str = Field(description="The file (only for those who may read the message).")
    thumbnail_url: str | None = Field(None, description="An image's smaller copy; null for other files.")


class MessageOut(Schema):
    id: int
    topic: str
    author: PersonOut
    body: str
    html: str
    created_at: Timestamp
    client_id: str | None
    edited_at: Timestamp | None
    deleted: bool
    mentions: MentionsOut
    restricted: bool
    prev_id: int | None = Field(None, description="The previous message's id in this topic (gap detection).")
    tlp: Literal["clear", "green", "amber", "amber+strict", "red"] = Field(
        description="FIRST TLP 2.0 marking: the topic's default_tlp or tighter.")
    shared_with: list[str] | None = Field(
        None, description="The sharing scope: centre codes (the readers are their people and the author's centre's "
                          "whom the topic allows, whatever their role), or null for everyone the topic allows.")
    promoted_to: list[PromotedLinkOut] = Field(
        default_factory=list, description="The alert and/or request this message became (at most one of each).")
    reply_to: int | None = Field(None, description="The message this one answers (a threaded reply).")
    thread_root: int | None = Field(None, description="The first message of the thread this reply is in; null for "
                                                      "a message in no thread and for a root.")
    reply_count: int = Field(0, description="On a thread's root: how many replies it has.")
    last_reply_at: Timestamp | None = Field(None, description="On a thread's root: when the last reply came.")
    also_channel: bool = Field(False, description="A reply that is also shown in the channel.")
    reactions: list[ReactionOut] = Field(default_factory=list, description="Emoji reactions, one entry per emoji.")
    pinned: bool = Field(False, description="Pinned in its topic.")
    attachments: list[MessageFileOut] = Field(default_factory=list,
                                             description="Files posted with the message (empty once deleted).")
    version: int = Field(0, description="Grows by one with each change of the message after it was posted (edit, "
                                        "deletion, reaction, pin, reply in its thread, promotion, marking): of "
                                        "two states of one message, the higher is the newer.")


class MessagePage(Schema):
    results: list[MessageOut]
    next: str | None


class TopicOut(Schema):
    slug: str
    name: str
    name_vi: str
    name_en: str
    description: str
    description_en: str
    kind: str
    allowed_roles: list[str]
    allowed_centres: list[str]
    restricted: bool
    default_tlp: str = Field(description="The TLP a message gets by default; a message may only be tighter.")
    unread: int
    last_read_id: int
    latest_message_id: int
    created_at: Timestamp
    members: list[PersonOut] | None = Field(None, description="A direct conversation's members (null for other "
                                                              "kinds).")
    pin_roles: list[str] = Field(default_factory=list, description="Roles that may pin; empty: everyone who sees it.")
    may_pin: bool = Field(False, description="Whether the caller may pin messages here.")
    history_after: int = Field(0, description="A conversation the caller was added to without its earlier "
                                              "messages: they read the messages (and threads) after this id "
                                              "only; 0: the whole history.")


class TopicPage(Schema):
    results: list[TopicOut]
    next: str | None


class MessageIn(InSchema):
    body: str
    client_id: str | None = None
    tlp: str | None = Field(None, description="clear, green, amber, amber+strict or red; at least the topic's "
                                              "default_tlp (the default).")
    shared_with: list[str] | None = Field(None, description="Centre codes that may read it (with the author's); "
                                                            "null: everyone the topic allows.")
    reply_to: int | None = Field(None, description="Reply in the thread of this message (a threaded reply).")
    also_channel: bool = Field(False, description="With reply_to: show the reply in the channel too.")


class MessageEditIn(InSchema):
    body: str


class ReadIn(InSchema):
    up_to: int


class ReadOut(Schema):
    topic: str
    up_to: int
    unread: int


class RevisionOut(Schema):
    action: str
    body: str
    html: str
    changed_by: str
    changed_at: Timestamp


def _topic_for(request: ApiRequest, slug: str) -> Topic:
    topic = get_topic(slug)
    if topic is None:
        raise HubError(NOT_FOUND, _("No topic %(slug)s."), slug=slug)
    if not can_view_topic(request.auth, topic):
        if topic.kind == Topic.Kind.DIRECT:
            # A conversation is its members' only: to anyone else it does not exist (CONTRACT.md,
            # "4403 / 404 to anyone else"), as its page answers 404 — not even that it is there.
            raise HubError(NOT_FOUND, _("No topic %(slug)s."), slug=slug)
        raise HubError(FORBIDDEN, _("You may not see this topic."))
    return topic


def _message_for(request: ApiRequest, topic: Topic, message_id: int) -> Message:
    message = get_visible_message(request.auth, topic, message_id) if 0 < message_id <= MAX_ID else None
    if message is None:
        raise HubError(NOT_FOUND, _("No message %(id)s in %(slug)s."), id=message_id, slug=topic.slug)
    return message


def _topic_rows(user, topics: list[Topic]) -> list[dict]:
    unread = unread_counts(user, topics)
    markers = read_markers(user, topics)
    latest = latest_ids(topics)
    members = conversation_members(topics)
    cuts = history_cutoffs(user, [t.pk for t in topics if t.kind == Topic.Kind.DIRECT])
    return [topic_out(t, unread=unread.get(t.id, 0), last_read_id=markers.get(t.id, 0),
                      latest_id=latest.get(t.id, 0), members=members.get(t.id),
                      may_pin=pin_role_allows(user, t), history_after=cuts.get(t.id, 0)) for t in topics]


@router.get("/topics", response={200: TopicPage, **ERRORS},
            summary="Topics the caller may see, with their unread counts")
def list_topics(request: ApiRequest, kind: str = Topic.Kind.CHANNEL, limit: int | None = None,
                cursor: str | None = None):
    if kind not in Topic.Kind.values and kind != "all":
        raise HubError(INVALID, _("kind must be one of %(kinds)s or all."), fields=["kind"],
                       kinds=", ".join(Topic.Kind.values))
    limit = clamp_limit(limit, default=200)
    topics = visible_topics(request.auth, kind=None if kind == "all" else kind)
    if cursor:
        (after_slug,) = decode_cursor(cursor, ["slug"])
        topics = [t for t in topics if t.slug > str(after_slug)]
    page, more = topics[:limit], len(topics) > limit
    return {"results": _topic_rows(request.auth, page),
            "next": encode_cursor([page[-1].slug]) if more and page else None}


@router.get("/topics/{slug}", response={200: TopicOut, **ERRORS}, summary="One topic")
def get_one_topic(request: ApiRequest, slug: str):
    topic = _topic_for(request, slug)
    return _topic_rows(request.auth, [topic])[0]


@router.get("/topics/{slug}/messages", response={200: MessagePage, **ERRORS},
            summary="History, oldest first: ?after=ID, ?before=ID or the latest; cursor paginated; ?thread=ID: "
                    "that thread's replies")
def list_messages(request: ApiRequest, slug: str, after: int | None = None, before: int | None = None,
                  limit: int | None = None, cursor: str | None = None, thread: int | None = None):
    topic = _topic_for(request, slug)
    root = _message_for(request, topic, thread) if thread is not None else None
    if cursor:
        direction, position = decode_cursor(cursor, ["direction", "id"])
        if (direction not in {"after", "before"} or isinstance(position, bool) or not isinstance(position, int)
                or not 0 <= position <= MAX_ID):
            raise invalid_cursor()
        after, before = (position, None) if direction == "after" else (None, position)
    if after is not None and before is not None:
        raise HubError(INVALID, _("Give either after or before, not both."), fields=["after", "before"])
    for name, value in (("after", after), ("before", before)):
        if value is not None and not 0 <= value <= MAX_ID:
            raise HubError(INVALID, _("%(name)s must be a non-negative message id."), fields=[name], name=name)
    limit = clamp_limit(limit)
    rows, more = history(request.auth, topic, after=after, before=before, limit=limit, thread=root)
    next_cursor = None
    if more and rows:
        next_cursor = (encode_cursor(["after", rows[-1].id]) if after is not None
                       else encode_cursor(["before", rows[0].id]))
    return trusted_json({"results": [message_out(m) for m in rows], "next": next_cursor})


@router.post("/topics/{slug}/messages", response={201: MessageOut, 409: ERRORS[400], 413: ERRORS[400], **ERRORS},
             summary="Post a message (broadcast exactly as if sent over the WebSocket)")
def create_message(request: ApiRequest, response: HttpResponse, slug: str, payload: MessageIn):
    topic = _topic_for(request, slug)
    message, created = post_message(topic, by=request.auth, body=payload.body, client_id=payload.client_id,
                                    tlp=payload.tlp, shared_with=payload.shared_with, reply_to=payload.reply_to,
                                    also_channel=payload.also_channel)
    if not created:
        response["Idempotent-Replayed"] = "true"
    return Status(201, message_out(message))


FILES_SCHEMA = multipart_body({
    "file": {"type": "array", "items": {"type": "string", "format": "binary"},
             "description": "One or more files (repeat the field), each under the request attachments' size limit "
                            "and types; .log and .txt are text."},
    "body": {"type": "string", "description": "The message's text (may be empty)."},
    "client_id": {"type": "string"},
    "tlp": {"type": "string"},
    "shared_with": {"type": "string", "description": "A JSON list of centre codes, or null."},
    "reply_to": {"type": "integer"},
    "also_channel": {"type": "boolean"},
}, required=["file"])


def _form_json(request: ApiRequest, name: str) -> object:
    raw = request.POST.get(name)
    if raw is None or raw == "":
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise invalid(name, _("must be JSON.")) from None


@router.post("/topics/{slug}/files", response={201: MessageOut, 409: ERRORS[400], 413: ERRORS[400], **ERRORS},
             openapi_extra=FILES_SCHEMA,
             summary="Post a message with files (multipart); broadcast like any message, its wire form lists them")
def create_message_with_files(request: ApiRequest, response: HttpResponse, slug: str):
    # The topic and the declared size are checked before the body is read: neither a stranger nor
    # an oversized upload makes the server spool the files.
    topic = _topic_for(request, slug)
    check_length(request, files=settings.HUB_CHAT_MAX_FILES)
    files = request.FILES.getlist("file")
    if not files:
        raise invalid("file", _("a multipart field `file` is required."))
    raw_reply_to = request.POST.get("reply_to") or None
    reply_to = parse_id(raw_reply_to, field="reply_to", message=_("must be a message id.")) if raw_reply_to else None
    message, created = post_message(topic, by=request.auth, body=request.POST.get("body", ""),
                                    client_id=request.POST.get("client_id") or None,
                                    tlp=request.POST.get("tlp") or None,
                                    shared_with=_form_json(request, "shared_with"),
                                    reply_to=reply_to,
                                    also_channel=request.POST.get("also_channel") in ("true", "1", "on"),
                                    files=files)
    if not created:
        response["Idempotent-Replayed"] = "true"
    return Status(201, message_out(message))


def _file_answer(request: ApiRequest, slug: str, file_id: int, *, thumbnail: bool) -> FileResponse:
    topic = _topic_for(request, slug)
    attachment = visible_attachment(request.auth, topic, file_id) if 0 < file_id <= MAX_ID else None
    stored = None if attachment is None else (attachment.thumbnail if thumbnail else attachment.file)
    if attachment is None or not stored:
        raise HubError(NOT_FOUND, _("No such file."))
    # Only an image the hub could read (it has a thumbnail) opens in the browser; anything else is
    # a download. Never sniffed, never cached by a shared cache, and sandboxed if opened directly.
    inline = bool(attachment.thumbnail)
    content_type = ("image/jpeg" if (stored.name or "").endswith(".jpg") else "image/png") if thumbnail \
        else attachment.content_type
    answer = FileResponse(stored.open("rb"), as_attachment=not inline, filename=attachment.original_name,
                          content_type=content_type)
    answer["Cache-Control"] = "private, no-store"
    answer["X-Content-Type-Options"] = "nosniff"
    answer["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return answer


@router.get("/topics/{slug}/files/{file_id}", response={200: None, **ERRORS},
            summary="A file posted in the topic (only for those who may read its message)")
def download_file(request: ApiRequest, slug: str, file_id: int):
    return _file_answer(request, slug, file_id, thumbnail=False)


@router.get("/topics/{slug}/files/{file_id}/thumbnail", response={200: None, **ERRORS},
            summary="An image's thumbnail (only for those who may read its message)")
def download_thumbnail(request: ApiRequest, slug: str, file_id: int):
    return _file_answer(request, slug, file_id, thumbnail=True)


@router.get("/topics/{slug}/messages/{message_id}", response={200: MessageOut, **ERRORS}, summary="One message")
def get_message(request: ApiRequest, slug: str, message_id: int):
    topic = _topic_for(request, slug)
    return message_out(_message_for(request, topic, message_id))


@router.patch("/topics/{slug}/messages/{message_id}", response={200: MessageOut, 409: ERRORS[400],
                                                                  413: ERRORS[400], **ERRORS},
              summary="Edit a message (author or hub admin); the previous text is kept")
def update_message(request: ApiRequest, slug: str, message_id: int, payload: MessageEditIn):
    topic = _topic_for(request, slug)
    message = _message_for(request, topic, message_id)
    message = edit_message(message, by=request.auth, body=payload.body)
    return message_out(message)


@router.delete("/topics/{slug}/messages/{message_id}", response={200: MessageOut, **ERRORS},
               summary="Delete a message (author or hub admin); it stays as a tombstone")
def remove_message(request: ApiRequest, slug: str, message_id: int):
    topic = _topic_for(request, slug)
    message = _message_for(request, topic, message_id)
    message = delete_message(message, by=request.auth)
    return message_out(message)


@router.get("/topics/{slug}/messages/{message_id}/revisions", response={200: list[RevisionOut], **ERRORS},
            summary="Previous versions of a message (author or hub admin)")
def message_revisions(request: ApiRequest, slug: str, message_id: int):
    topic = _topic_for(request, slug)
    message = _message_for(request, topic, message_id)
    if message.author_id != request.auth.id and not request.auth.is_hub_admin:
        raise HubError(FORBIDDEN, _("Only the author or a hub admin may read a message's history."))
    return [
        {"action": r.action, "body": r.body, "html": r.html, "changed_by": r.changed_by.username,
         "changed_at": timestamp(r.changed_at)}
        for r in message.revisions.select_related("changed_by")
    ]


@router.post("/topics/{slug}/read", response={200: ReadOut, **ERRORS},
             summary="Move the caller's read marker (the HTTP twin of the `read` frame)")
def read_topic(request: ApiRequest, slug: str, payload: ReadIn):
    topic = _topic_for(request, slug)
    marker = mark_topic_read(topic, by=request.auth, up_to=payload.up_to)
    return {"topic": topic.slug, "up_to": marker, "unread": unread_counts(request.auth, [topic])[topic.id]}


class SearchHitOut(MessageOut):
    highlight: str = Field(description="HTML: the text (or the part around the first match) with each matching word "
                                       "in <mark>; everything else escaped — the only markup is <mark>.")
    topic_name: str = Field(description="The topic's name in the caller's language (a conversation: its members).")
    topic_kind: str = Field(description="channel, ticket or direct.")


class SearchPage(Schema):
    results: list[SearchHitOut]
    next: str | None


def _day_start(day: date | None, field: str, *, days_after: int = 0) -> datetime | None:
    """The start of a day (or of the day `days_after` it) in the hub's time zone (Asia/Ho_Chi_Minh),
    the day people mean."""
    if day is None:
        return None
    check_year(day, field=field)  # at the calendar's edge the day after or the move to UTC overflows
    return timezone.make_aware(datetime.combine(day + timedelta(days=days_after), time.min))


@router.get("/search", response={200: SearchPage, **ERRORS},
            summary="Search messages the caller may see (case- and diacritic-insensitive), newest first; filters: "
                    "topic, author (username), centre (the author's), since/until (dates, inclusive)")
def search(request: ApiRequest, q: str, topic: str | None = None, author: str | None = None,
           centre: str | None = None, since: date | None = None, until: date | None = None,
           limit: int | None = None, cursor: str | None = None):
    if not q.strip():
        raise HubError(INVALID, _("q may not be empty."), fields=["q"])
    if len(q) > SEARCH_MAX_CHARS:
        raise HubError(INVALID, _("q may be at most %(n)s characters."), fields=["q"], n=SEARCH_MAX_CHARS)
    if since is not None and until is not None and until < since:
        raise invalid("until", _("must not be before since."))
    scope = _topic_for(request, topic) if topic else None
    if cursor:
        (position,) = decode_cursor(cursor, ["id"])
        if isinstance(position, bool) or not isinstance(position, int) or not 0 < position <= MAX_ID:
            raise invalid_cursor()
    page = search_page(request.auth, q, scope, author=(author or "").strip() or None,
                       centre=(centre or "").strip() or None, since=_day_start(since, "since"),
                       until=_day_start(until, "until", days_after=1), cursor=cursor, limit=limit)
    words = search_words(q)
    en = (get_language() or "vi").startswith("en")
    # Built in SearchPage's shape, sent without ninja re-validating 50 hits (a quarter of a search's
    # CPU); tests/chat/test_search_page_api.py holds real answers to the schema.
    return trusted_json({"results": [{**message_out(m), "highlight": highlight(m.body, words),
                                      "topic_name": m.topic.name_en if en else m.topic.name_vi,
                                      "topic_kind": m.topic.kind} for m in page.results],
                         "next": page.next})


# --- threads, reactions, pins (issue 26 §2, §3) ----------------------------------------------------


class ThreadOut(Schema):
    root: MessageOut
    unread: int = Field(description="Replies by others after the caller's marker in this thread.")
    last_read_id: int


class ThreadPage(Schema):
    results: list[ThreadOut]


@router.get("/topics/{slug}/threads", response={200: ThreadPage, **ERRORS},
            summary="The threads of the topic the caller took part in, with their unread replies")
def list_threads(request: ApiRequest, slug: str):
    topic = _topic_for(request, slug)
    rows = my_threads(request.auth, topic)
    return {"results": [{"root": message_out(r["root"]), "unread": r["unread"], "last_read_id": r["last_read_id"]}
                        for r in rows]}


class ThreadReadOut(Schema):
    root: int
    up_to: int


@router.post("/topics/{slug}/threads/{message_id}/read", response={200: ThreadReadOut, **ERRORS},
             summary="Move the caller's read marker in one thread")
def read_thread(request: ApiRequest, slug: str, message_id: int, payload: ReadIn):
    topic = _topic_for(request, slug)
    root = _message_for(request, topic, message_id)
    return {"root": root.pk, "up_to": mark_thread_read(root, by=request.auth, up_to=payload.up_to)}


class ReactionIn(InSchema):
    emoji: str = Field(description="One emoji, e.g. 👍")


class ReactionsOut(Schema):
    id: int
    reactions: list[ReactionOut]
    version: int = Field(description="The message's version with these reactions (as in `message.reactions`): "
                                     "a client keeps the state with the highest.")


@router.post("/topics/{slug}/messages/{message_id}/reactions", response={200: ReactionsOut, 409: ERRORS[400],
                                                                         **ERRORS},
             summary="Toggle the caller's reaction with this emoji (reacting twice removes it)")
def react(request: ApiRequest, slug: str, message_id: int, payload: ReactionIn):
    topic = _topic_for(request, slug)
    message = _message_for(request, topic, message_id)
    state = toggle_reaction(message, by=request.auth, emoji=payload.emoji)
    return {"id": message.pk, "reactions": state["reactions"], "version": state["version"]}


class PinOut(Schema):
    message: MessageOut
    pinned_by: PersonOut
    pinned_at: Timestamp


class PinPage(Schema):
    results: list[PinOut]


@router.get("/topics/{slug}/pins", response={200: PinPage, **ERRORS}, summary="The topic's pinned messages")
def list_pins(request: ApiRequest, slug: str):
    topic = _topic_for(request, slug)
    return {"results": [{"message": message_out(p.message), "pinned_by": author_out(p.pinned_by),
                         "pinned_at": timestamp(p.pinned_at)} for p in pinned_messages(request.auth, topic)]}


@router.post("/topics/{slug}/messages/{message_id}/pin", response={200: MessageOut, 409: ERRORS[400], **ERRORS},
             summary="Pin a message in its topic (who may: the topic's pin_roles)")
def pin(request: ApiRequest, slug: str, message_id: int):
    topic = _topic_for(request, slug)
    message = _message_for(request, topic, message_id)
    set_pinned(message, by=request.auth, pinned=True)
    return message_out(_message_for(request, topic, message_id))


@router.delete("/topics/{slug}/messages/{message_id}/pin", response={200: MessageOut, **ERRORS},
               summary="Unpin a message")
def unpin(request: ApiRequest, slug: str, message_id: int):
    topic = _topic_for(request, slug)
    message = _message_for(request, topic, message_id)
    set_pinned(message, by=request.auth, pinned=False)
    return message_out(_message_for(request, topic, message_id))


# --- direct conversations (issue 26 §1) -------------------------------------------------------------


class ConversationIn(InSchema):
    members: list[str] = Field(description="Usernames of the people to talk to (any centres); the caller is added.")


class MembersIn(InSchema):
    usernames: list[str]
    history: bool = Field(False, description="Whether the people added read the messages written before they "
                                             "came (never more than the adder reads); default: from now on.")


class PeoplePage(Schema):
    results: list[PersonOut]


@router.get("/conversations/people", response={200: PeoplePage, **ERRORS},
            summary="People to start a conversation with: active people of any centre matching q")
def conversation_people(request: ApiRequest, q: str = ""):
    return {"results": [author_out(p) for p in people_matching(q, exclude=request.auth)]}


@router.post("/conversations", response={201: TopicOut, **ERRORS},
             summary="Start a direct conversation (or get the one these people already have)")
def create_conversation(request: ApiRequest, payload: ConversationIn):
    topic, _created = start_conversation(by=request.auth, members=payload.members)
    return Status(201, _topic_rows(request.auth, [topic])[0])


@router.post("/topics/{slug}/members", response={200: TopicOut, **ERRORS},
             summary="Add people to a direct conversation (its members may)")
def add_conversation_members(request: ApiRequest, slug: str, payload: MembersIn):
    topic = _topic_for(request, slug)
    add_members(topic, by=request.auth, usernames=payload.usernames, history=payload.history)
    return _topic_rows(request.auth, [topic])[0]


class LeftOut(Schema):
    topic: str
    left: bool


@router.post("/topics/{slug}/leave", response={200: LeftOut, **ERRORS},
             summary="Leave a direct conversation (nobody can remove someone else)")
def leave(request: ApiRequest, slug: str):
    topic = _topic_for(request, slug)
    leave_conversation(topic, by=request.auth)
    return {"topic": topic.slug, "left": True}


# --- promotion (chat.promotion) --------------------------------------------------------------------------


class PromoteIn(InSchema):
    to: Literal["alert", "ticket"]
    include: list[int] = Field(default_factory=list, description="Other messages of this topic to carry along.")
    quote: bool = Field(True, description="false: quote the messages' author, centre, time and link but not their "
                                          "text (then `title` is required and nothing is taken from the text).")
    title: str | None = None
    description: str | None = None
    tlp: str | None = None
    # alert
    severity: str | None = None
    indicators: list[dict] | None = Field(None, description="Omitted: those found in the messages' text.")
    affected_systems: list[str] | None = None
    recommended_actions: str | None = None
    shared_with: list[str] | None = None
    # request
    category: str | None = None
    priority: str | None = None
    target_centre: str | None = None


class PromotedOut(Schema):
    alert: AlertDetailOut | None = None
    ticket: TicketDetailOut | None = None


class DraftOut(Schema):
    to: str
    fields: dict
    quote: bool
    too_wide: list[str] = Field(description="Who the prefilled item would reach that may not read the messages.")
    already_promoted: list[dict]
    messages: list[dict] = Field(description="What the item would quote.")


@router.get("/topics/{slug}/messages/{message_id}/promote", response={200: DraftOut, **ERRORS},
            summary="What promoting this message would create: prefilled fields and suggested indicators")
def promotion_draft(request: ApiRequest, slug: str, message_id: int, to: str = "alert",
                    include: str = "", quote: bool = True):
    topic = _topic_for(request, slug)
    message = _message_for(request, topic, message_id)
    return draft(user=request.auth, topic=topic, message_id=message.pk, to=to, include=_ids(include), quote=quote)


def _ids(raw: str) -> list[int]:
    return parse_ids(raw, field="include", limit=MAX_MESSAGES, message=_("comma-separated message ids."))


@router.post("/topics/{slug}/messages/{message_id}/promote", response={201: PromotedOut, 409: ERRORS[400], **ERRORS},
             summary="Promote the message (and `include`d ones) to an alert or a support request")
def promote_message(request: ApiRequest, slug: str, message_id: int, payload: PromoteIn):
    from alerts.serializers import alert_detail_out
    from requests.api import ticket_detail
    from requests.selectors import get_visible_ticket

    topic = _topic_for(request, slug)
    message = _message_for(request, topic, message_id)
    fields = payload.dict(exclude_unset=True)
    to = fields.pop("to")
    include, quote = fields.pop("include", []), fields.pop("quote", True)
    kind, item = promote(user=request.auth, topic=topic, message_id=message.pk, to=to, fields=fields,
                         include=include, quote=quote)
    if kind == "alert":
        from alerts.selectors import get_visible_alert

        return Status(201, {"alert": alert_detail_out(get_visible_alert(request.auth, item.pk), request.auth)})
    return Status(201, {"ticket": ticket_detail(get_visible_ticket(request.auth, item.pk), request.auth)})
