"""Topics and their messages: the MOU's "online information-exchange channel".

A `Topic` is data (hub admins add more); its `kind` says who decides visibility: `channel` topics
carry their own role/centre restriction, other kinds (a support request's discussion thread) are
decided by the app that owns them through `chat.access`. A `Message` may carry its own `audience`
on top of the topic's restriction: the sharing scope its author chose (`shared_with`: the listed
centres and the author's), or, for an alert's summary, the alert's TLP audience. Every message has a
TLP marking, the topic's `default_tlp` or tighter (hub/sharing.py).

Messages are never hard-deleted or silently rewritten: every edit and deletion leaves a
`MessageRevision` with the previous text, for audit.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from hub.models import Centre
from hub.realtime.audience import Audience, store_audience
from hub.sharing import TLP_MAX_LENGTH, Tlp


class Topic(models.Model):
    class Kind(models.TextChoices):
        CHANNEL = "channel", _("Channel")
        TICKET = "ticket", _("Support request thread")
        DIRECT = "direct", _("Direct conversation")

    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    name_vi = models.CharField(_("Vietnamese name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200)
    description = models.TextField(_("description (Vietnamese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.CHANNEL)
    allowed_roles = models.JSONField(
        _("allowed roles"), default=list, blank=True,
        help_text=_("Role values that may see the topic; empty means every role."),
    )
    allowed_centres = models.ManyToManyField(
        Centre, verbose_name=_("allowed centres"), blank=True, related_name="+",
        help_text=_("Centres that may see the topic; none selected means every centre."),
    )
    default_tlp = models.CharField(
        _("default TLP"), max_length=TLP_MAX_LENGTH, choices=Tlp.choices, default=Tlp.GREEN,
        help_text=_("The marking a message gets when its author chooses none; authors may only tighten it."),
    )
    pin_roles = models.JSONField(
        _("roles that may pin"), default=list, blank=True,
        help_text=_("Role values that may pin messages; empty means everyone who may see the topic."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["slug"]
        verbose_name = _("topic")
        verbose_name_plural = _("topics")

    def __str__(self) -> str:
        return self.slug

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "vi").startswith("en") else self.name_vi

    @property
    def localized_description(self) -> str:
        if (get_language() or "vi").startswith("en") and self.description_en:
            return self.description_en
        return self.description


class MessageQuerySet(models.QuerySet["Message"]):
    def mark_changed(self, at: datetime | None = None, **also: object) -> int:
        """`Message.mark_changed` for rows already locked by the caller, in one UPDATE (with `also`,
        other columns changed at the same time): `changed_at` and `version` + 1."""
        return self.update(changed_at=at or timezone.now(), version=models.F("version") + 1, **also)


class Message(models.Model):
    topic = models.ForeignKey(Topic, verbose_name=_("topic"), on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.PROTECT, related_name="+"
    )
    body = models.TextField(_("body"), help_text=_("Markdown exactly as written."))
    html = models.TextField(_("HTML"), help_text=_("Sanitised rendering of the body."))
    client_id = models.CharField(_("client id"), max_length=64, null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    edited_at = models.DateTimeField(_("edited at"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)
    # When the message's wire form last changed after it was posted — an edit, a deletion, a reaction,
    # a pin, a reply in its thread, a promotion — so that a client back from being away gets those
    # changes too (`sync` with `changed_since`; chat.selectors.changed_up_to).
    changed_at = models.DateTimeField(_("changed at"), null=True, blank=True, editable=False)
    # How many times that wire form changed: it grows by one with each change, under the message's
    # row lock, so it orders the changes of one message as the database took them. Frames carry it
    # (`version` in a message and in `message.reactions`): frames of one message published by two
    # processes may reach a socket in the other order, and a client keeps the newer state.
    version = models.PositiveIntegerField(_("version"), default=0, editable=False)
    # When the message's audience last changed after it was posted — narrowed, mostly (chat.services.remark_thread: an
    # alert's summary and its thread follow the alert's raised TLP or narrowed sharing), so that a
    # client back from being away is told to take off its page what its person may no longer read
    # (`sync` with `changed_since` → `message.withdrawn`; chat.selectors.withdrawn_up_to).
    marked_at = models.DateTimeField(_("marking narrowed at"), null=True, blank=True, editable=False)
    # Audience.as_meta() or null (= everyone who may see the topic). Canonical form.
    audience = models.JSONField(_("audience"), null=True, blank=True)
    # The same audience as ",a,b," strings so both SQLite and PostgreSQL can filter on it in SQL
    # (JSON containment is not portable). Maintained by `set_audience`, never edited by hand.
    audience_centres = models.CharField(max_length=500, null=True, blank=True, editable=False)
    audience_roles = models.CharField(max_length=200, null=True, blank=True, editable=False)
    audience_users = models.TextField(null=True, blank=True, editable=False)
    # Body folded to lower case without Vietnamese diacritics (" an toan thong tin "), for the
    # portable search fallback; PostgreSQL searches `body` itself with unaccent full-text search.
    search_text = models.TextField(blank=True, editable=False)
    # The id of the message before this one in the same topic (null for the first, and for rows
    # bulk-loaded without it). Ids are global, so only this lets a client notice that it missed a
    # message the live stream never carried (a process killed between commit and publish).
    prev_id = models.BigIntegerField(_("previous message id"), null=True, blank=True, editable=False)
    # TLP 2.0 marking (hub/sharing.py): the topic's default or tighter, chosen by the author.
    tlp = models.CharField(_("TLP"), max_length=TLP_MAX_LENGTH, choices=Tlp.choices, default=Tlp.GREEN)
    # The sharing scope as the author chose it: centre codes, or null for everyone the topic allows.
    # `audience` above is what it means (the listed centres and the author's); this is what to show.
    shared_with = models.JSONField(_("shared with"), null=True, blank=True)
    # What the message became (chat.promotion): [{"kind": "alert"|"ticket", "id": N}], at most one of
    # each kind. Written once per kind under the message's row lock.
    promoted_to = models.JSONField(_("promoted to"), default=list, blank=True)
    # Threads (Slack's model, docs/chat.md "Threads"): a reply names the message it answers
    # (`reply_to`) and the thread's first message (`thread_root`, the same for every reply of a
    # thread). A root keeps its replies' count and the time of the last one, updated under the
    # topic's row lock with the reply. `also_channel`: the reply is shown in the channel too.
    reply_to = models.ForeignKey("self", verbose_name=_("reply to"), null=True, blank=True,
                                 on_delete=models.CASCADE, related_name="+")
    thread_root = models.ForeignKey("self", verbose_name=_("thread"), null=True, blank=True,
                                    on_delete=models.CASCADE, related_name="+")
    also_channel = models.BooleanField(_("also sent to the channel"), default=False)
    reply_count = models.PositiveIntegerField(_("replies"), default=0, editable=False)
    last_reply_at = models.DateTimeField(_("last reply at"), null=True, blank=True, editable=False)
    # The files posted with the message (`MessageAttachment`), as the wire form names them, written
    # once in the message's transaction: pages of history, sync and search read them with the row,
    # at no extra query (docs/chat.md, "Files and images").
    files = models.JSONField(_("files"), default=list, blank=True, editable=False)

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(
                fields=["author", "client_id"], condition=models.Q(client_id__isnull=False),
                name="chat_message_unique_client_id_per_author",
            )
        ]
        indexes = [models.Index(fields=["topic", "id"], name="chat_msg_topic_id"),
                   # What changed in a topic since a time (`sync`'s `changed_since`): the few changed rows.
                   models.Index(fields=["topic", "changed_at"], condition=models.Q(changed_at__isnull=False),
                                name="chat_msg_topic_changed"),
                   # … and whose audience narrowed since then (`message.withdrawn` on sync): fewer still.
                   models.Index(fields=["topic", "marked_at"], condition=models.Q(marked_at__isnull=False),
                                name="chat_msg_topic_marked"),
                   models.Index(fields=["thread_root", "id"], name="chat_msg_thread_id"),
                   # The reports count messages by period (reports.selectors.message_counts) and find
                   # the years with any (years_with_data): a range of this index, not the whole table.
                   models.Index(fields=["created_at"], name="chat_msg_created_at"),
                   # The reports' message counts by period of the messages every reader of their topic
                   # sees: read from this index alone (reports.selectors.message_counts).
                   models.Index(fields=["created_at"], include=["topic", "author"],
                                condition=models.Q(deleted_at__isnull=True, audience__isnull=True),
                                name="chat_msg_public_created"),
                   # … and of the few with an audience of their own, read from the rows (a small index).
                   models.Index(fields=["created_at"],
                                condition=models.Q(deleted_at__isnull=True, audience__isnull=False),
                                name="chat_msg_restricted_created")]

    def __str__(self) -> str:
        return f"#{self.pk} in {self.topic_id}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def mark_changed(self, at: datetime | None = None) -> list[str]:
        """Record a change of the wire form on this instance, read under its row lock: `changed_at`
        (for `sync`'s `changed_since`) and `version` + 1. Returns the fields to save with it. Rows
        not loaded: `Message.objects.filter(...).mark_changed()` (MessageQuerySet)."""
        self.changed_at = at or timezone.now()
        self.version += 1
        return ["changed_at", "version"]

    def set_audience(self, meta: dict | None) -> None:
        store_audience(self, Audience.from_meta(meta))


def chat_file_path(instance: MessageAttachment, filename: str) -> str:
    # Never the uploader's name (path tricks, collisions): that is kept in `original_name`.
    import uuid
    from pathlib import PurePosixPath

    from django.utils import timezone

    suffix = PurePosixPath(filename).suffix.lower()[:10]
    return f"chat/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


class MessageAttachment(models.Model):
    """A file posted with a message (docs/chat.md, "Files and images"). Stored through Django's
    storage under MEDIA_ROOT, never served from /media/: only the download endpoint reads it, after
    the same visibility rule as its message (the topic, the message's audience, not deleted)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to=chat_file_path, max_length=200)
    # A smaller copy of an image, shown in the message (null for other files, or an image Pillow
    # could not read: that one is offered as a plain download).
    thumbnail = models.FileField(upload_to=chat_file_path, max_length=200, null=True, blank=True)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("file in chat")
        verbose_name_plural = _("files in chat")

    def __str__(self) -> str:
        return self.original_name


class MessageRevision(models.Model):
    """The text a message had before an edit or a deletion (append-only audit trail)."""

    class Action(models.TextChoices):
        EDIT = "edit", _("Edited")
        DELETE = "delete", _("Deleted")

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="revisions")
    action = models.CharField(max_length=10, choices=Action.choices)
    body = models.TextField()
    html = models.TextField()
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("message revision")
        verbose_name_plural = _("message revisions")


class Mention(models.Model):
    """`@username` (user set) or `@CENTRE` (centre set) written in a message."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="mentions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")
    centre = models.ForeignKey(Centre, null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, centre__isnull=True)
                | models.Q(user__isnull=True, centre__isnull=False),
                name="chat_mention_user_xor_centre",
            )
        ]


class ReadMarker(models.Model):
    """How far a user has read a topic; unread counts are messages after `last_read_id`."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="+")
    last_read_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "topic"], name="chat_readmarker_unique")]


class ThreadReadMarker(models.Model):
    """How far a person has read one thread (its own unread state, apart from the topic's)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    root = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    last_read_id = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "root"], name="chat_threadmarker_unique")]


class Reaction(models.Model):
    """One person's emoji on one message; reacting again with the same emoji removes it. Not a
    message: it has no id in the topic's sequence and moves no unread count."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    emoji = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["message", "user", "emoji"], name="chat_reaction_unique")]


class Pin(models.Model):
    """A message pinned in its topic (the topic's `pin_roles` say who may pin)."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="pins")
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="pin")
    pinned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    pinned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pinned_at", "-id"]


class ConversationMember(models.Model):
    """A member of a direct conversation (a topic of kind `direct`): only members see it."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    joined_at = models.DateTimeField(auto_now_add=True)
    # What of the conversation's past the member reads (docs/chat.md, "Who reads the history"): the
    # messages — and threads — after this message id; 0 = the whole history. Set when someone is added
    # without the earlier messages (the newest id at that moment); `chat.selectors.history_q` is the
    # one rule every read path applies.
    history_after = models.BigIntegerField(_("reads the history after message"), default=0)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["topic", "user"], name="chat_member_unique")]


class ConversationExport(models.Model):
    """The audit record of a hub admin's export of a direct conversation: the only way an admin who
    is not a member reads one (`manage.py export_conversation`). Append-only."""

    topic = models.ForeignKey(Topic, verbose_name=_("conversation"), on_delete=models.PROTECT, related_name="+")
    exported_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("exported by"),
                                    on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("reason"))
    messages = models.PositiveIntegerField(_("messages exported"))
    sha256 = models.CharField(_("SHA-256 of the export"), max_length=64)
    exported_at = models.DateTimeField(_("exported at"), auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("conversation export")
        verbose_name_plural = _("conversation exports")


# The read receipts' own table lives with their code (chat/receipts.py); imported here so Django sees it.
from chat.receipts import ReceiptSetting  # noqa: E402, F401
