"""Read receipts in a topic: who has read a message, by centre (docs/duty.md, "Read receipts").

A receipt is derived from the read markers chat already keeps (`ReadMarker.last_read_id`): a person
has read message M of topic T when their marker in T is at or beyond M. Nothing new is stored per
message; what is new is each person's choice to share their read state (`ReceiptSetting`, on by
default). Zulip's rule: whoever does not share theirs sees nobody else's either.

**The rule for big topics.** Receipts are shown for the newest `HUB_RECEIPTS_RECENT` messages of a
topic (older ones were read by everyone who was going to); each message shows counts per centre
("đã xem: DN 3, HUE 1"), with the readers' names (on hover) only while a message has at most
`HUB_RECEIPTS_MAX_NAMES` readers — beyond that only the counts, since a list of fifty names is
noise and a burden on everyone's privacy. The author never counts as a reader of their own message;
a reader counts only if the message's audience allows them (TLP, sharing scope).

**Live.** When a sharing person's marker moves, a `receipt` frame goes to the topic's sockets
(after commit); the page refreshes the receipts it shows.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, TypedDict

from django.conf import settings
from django.db import models

from chat.frames import ReceiptFrame
from chat.models import Message, ReadMarker, Topic
from hub.models import User
from hub.realtime.audience import EVERYONE, Audience
from hub.realtime.groups import topic_group
from hub.realtime.publisher import broadcast_on_commit


class ReceiptSetting(models.Model):
    """A person who turned sharing their read state off (or on again). No row: sharing."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="receipt_setting")
    share = models.BooleanField(default=True)

    class Meta:
        app_label = "chat"


class CentreReaders(TypedDict, total=False):
    centre: str | None
    count: int
    people: list[str]  # display names, only under HUB_RECEIPTS_MAX_NAMES readers


class MessageReceipts(TypedDict):
    total: int
    centres: list[CentreReaders]


def shares(user: Any) -> bool:
    if user is None or not getattr(user, "pk", None):
        return False
    return not ReceiptSetting.objects.filter(user_id=user.pk, share=False).exists()


def set_sharing(user: User, *, share: bool) -> bool:
    ReceiptSetting.objects.update_or_create(user=user, defaults={"share": bool(share)})
    return bool(share)


def receipts_for(topic: Topic, *, viewer: User, ids: list[int]) -> dict[int, MessageReceipts]:
    """Receipts of the messages `ids` of `topic` (the newest HUB_RECEIPTS_RECENT only), as `viewer`
    may see them: nothing when the viewer does not share their own read state. Three queries: the
    messages, the sharing readers' markers with their people, the opted-out ids."""
    if not ids or not shares(viewer):
        return {}
    recent = settings.HUB_RECEIPTS_RECENT
    newest = list(Message.objects.filter(topic=topic).order_by("-id").values_list("id", flat=True)[:recent])
    floor = newest[-1] if newest else 0
    wanted = sorted({i for i in ids if isinstance(i, int) and i >= floor})[:recent]
    if not wanted:
        return {}
    from chat.selectors import member_cutoffs, readable_rows, reads_anchor

    # Only messages the viewer reads (their audience, and in a conversation the part of its history
    # the viewer was given: chat.selectors.history_q).
    messages = readable_rows(viewer, topic, wanted, "id", "author_id", "audience", "thread_root_id")
    hidden = set(ReceiptSetting.objects.filter(share=False).values_list("user_id", flat=True))
    markers = (ReadMarker.objects.filter(topic=topic, last_read_id__gte=wanted[0], user__is_active=True)
               .exclude(user_id__in=hidden).select_related("user__centre"))
    # In a conversation, someone added without its earlier messages has not read those, whatever
    # their marker says (the same rule, per reader).
    cuts = member_cutoffs(topic)
    readers = [(m.last_read_id, m.user) for m in markers]
    limit = settings.HUB_RECEIPTS_MAX_NAMES
    out: dict[int, MessageReceipts] = {}
    for message in messages:
        audience = Audience.from_meta(message["audience"])
        by_centre: dict[str | None, list[User]] = defaultdict(list)
        for last_read, person in readers:
            anchor = message["thread_root_id"] or message["id"]
            if (last_read >= message["id"] and person.pk != message["author_id"] and audience.allows(person)
                    and reads_anchor(anchor, cuts.get(person.pk, 0))):
                by_centre[person.centre.code if person.centre is not None else None].append(person)
        total = sum(len(people) for people in by_centre.values())
        centres: list[CentreReaders] = []
        for code in sorted(by_centre, key=lambda c: (-len(by_centre[c]), c or "")):
            entry: CentreReaders = {"centre": code, "count": len(by_centre[code])}
            if total <= limit:
                entry["people"] = sorted(p.get_display_name() for p in by_centre[code])
            centres.append(entry)
        out[message["id"]] = {"total": total, "centres": centres}
    return out


def read_moved(topic: Topic, *, by: User, up_to: int) -> None:
    """Called by chat.services.mark_topic_read when a marker moves: tell the topic's sockets, after
    commit, if the person shares their read state."""
    if not shares(by):
        return
    frame: ReceiptFrame = {"type": "receipt", "topic": topic.slug, "user": by.username, "up_to": up_to}
    broadcast_on_commit([topic_group(topic.slug)], frame, EVERYONE)
