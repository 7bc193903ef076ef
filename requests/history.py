"""A request's history as sentences a person reads (issue 23): "Bình (Đà Nẵng) chuyển trạng thái từ
“Mới” sang “Đang xử lý”." instead of `{"status":"new",…}` and usernames.

The stored event keeps the machine values (codes, usernames, ids: the API's `before`/`after`); the
sentence is made when the page is read, in the viewer's language and local time, with people's and
centres' names as they are now. Reads only: `sentences(events)` costs two queries for the page.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from hub.models import Centre, User
from hub.sharing import Tlp
from requests.models import Category, Priority, Status, TicketEvent

CHOICES: dict[str, Any] = {"status": Status, "priority": Priority, "category": Category, "tlp": Tlp}
Kind = TicketEvent.Kind


def _label(field: str, value: Any) -> str:
    choices = CHOICES.get(field)
    if choices is not None and value in choices.values:
        return str(choices(value).label)
    return "—" if value in (None, "") else str(value)


def _when(value: Any) -> str:
    moment = parse_datetime(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime):
        return "—"
    # The short form ("14:00 26/11/2026", en "11/26/2026 2 p.m."): what the page around the sentence
    # shows (hub/formats/vi), not the long "14:00 Ngày 26 tháng 11 năm 2026".
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


class _Names:
    """Display names of the people and centres the events name, read once for the page."""

    def __init__(self, events: list[TicketEvent]) -> None:
        usernames: set[str] = set()
        for event in events:
            if event.kind in (Kind.ASSIGNED, Kind.WATCHER_ADDED, Kind.WATCHER_REMOVED):
                usernames.update(v for v in (event.before, event.after) if isinstance(v, str))
        self.people = {u.username: u.get_display_name() for u in User.objects.filter(username__in=usernames)}
        self.centres = {c.code: c.name for c in Centre.objects.all()}

    def person(self, username: Any) -> str:
        return self.people.get(username, str(username)) if username else "—"

    def centre(self, code: Any) -> str:
        return self.centres.get(code, str(code)) if code else _("any centre")


def _actor(event: TicketEvent) -> str:
    if event.actor is None:
        return _("The hub")
    name = event.actor.get_display_name()
    centre = getattr(event.actor, "centre", None)
    return f"{name} ({centre.code})" if centre is not None else name


def _field_sentence(event: TicketEvent, who: str, names: _Names) -> str:
    field, before, after = event.field, event.before, event.after
    if field == "title":
        return _("%(who)s renamed the request “%(after)s”.") % {"who": who, "after": after}
    if field == "description":
        return _("%(who)s edited the description.") % {"who": who}
    if field == "target_centre":
        return _("%(who)s sent the request to %(after)s (before: %(before)s).") % {
            "who": who, "after": names.centre(after), "before": names.centre(before)}
    if field in ("due_at", "first_response_due"):
        return _("The due time moved from %(before)s to %(after)s.") % {"before": _when(before), "after": _when(after)}
    what = {"category": _("the category"), "priority": _("the priority"), "tlp": _("the TLP marking"),
            "status": _("the status")}.get(field, field)
    return _("%(who)s changed %(what)s from “%(before)s” to “%(after)s”.") % {
        "who": who, "what": what, "before": _label(field, before), "after": _label(field, after)}


def _other(about: dict[str, Any]) -> str:
    """The other end a merge, split or link names: a request's reference or an alert's number."""
    if about.get("reference"):
        return str(about["reference"])
    if about.get("alert"):
        return _("alert #%(id)s") % {"id": about["alert"]}
    return _("another request")


def _related_sentence(event: TicketEvent, who: str) -> str:
    """Merges, splits and links, naming the other request (or alert); the page links that name."""
    about = event.after if isinstance(event.after, dict) else (event.before if isinstance(event.before, dict) else {})
    other = _other(about)
    if event.kind == Kind.MERGED:
        return _("%(who)s merged this request into %(other)s; it is read-only now.") % {"who": who, "other": other}
    if event.kind == Kind.MERGED_FROM:
        text = _("%(who)s merged the duplicate %(other)s into this request.") % {"who": who, "other": other}
        moved = about.get("watchers") or []
        if moved:
            text += " " + ngettext("%(count)d watcher joined.", "%(count)d watchers joined.", len(moved)) % {
                "count": len(moved)}
        return text
    if event.kind == Kind.SPLIT:
        count = len(about.get("comments") or [])
        return ngettext("%(who)s split %(count)d comment off into a new request, %(other)s.",
                        "%(who)s split %(count)d comments off into a new request, %(other)s.", count) % {
            "who": who, "count": count, "other": other}
    if event.kind == Kind.LINK_REMOVED:
        return _("%(who)s removed the link with %(other)s.") % {"who": who, "other": other}
    kind = about.get("kind")
    if kind == "caused_by" and about.get("reverse"):
        return _("%(who)s noted that %(other)s is caused by this request.") % {"who": who, "other": other}
    if kind == "caused_by":
        return _("%(who)s noted that this request is caused by %(other)s.") % {"who": who, "other": other}
    return _("%(who)s linked this request with %(other)s (related).") % {"who": who, "other": other}


def sentence(event: TicketEvent, names: _Names) -> str | None:
    """One event in the active language (None for a kind not worded here)."""
    who = _actor(event)
    after = event.after
    if event.kind == Kind.CREATED:
        data = after if isinstance(after, dict) else {}
        values = {"who": who, "centre": names.centre(data.get("target_centre")),
                  "category": _label("category", data.get("category")),
                  "priority": _label("priority", data.get("priority")), "tlp": _label("tlp", data.get("tlp"))}
        text = (_("%(who)s opened the request for %(centre)s: %(category)s, priority %(priority)s, %(tlp)s.")
                if data.get("tlp") else  # requests opened before markings were recorded with them
                _("%(who)s opened the request for %(centre)s: %(category)s, priority %(priority)s.")) % values
        if data.get("promoted_from"):
            text += " " + _("It was made from a conversation.")
        split_from = data.get("split_from")
        if isinstance(split_from, dict) and split_from.get("reference"):
            text += " " + _("It was split off from %(reference)s.") % {"reference": split_from["reference"]}
        template = data.get("template")
        if isinstance(template, dict) and template.get("name"):
            text += " " + _("Template: “%(name)s”.") % {"name": template["name"]}
    elif event.kind == Kind.TRANSITION:
        text = _("%(who)s moved the request from “%(before)s” to “%(after)s”.") % {
            "who": who, "before": _label("status", event.before), "after": _label("status", after)}
    elif event.kind == Kind.ASSIGNED:
        if not after:
            text = _("%(who)s removed the assignee (%(before)s).") % {"who": who, "before": names.person(event.before)}
        elif event.actor is not None and after == event.actor.username:
            text = _("%(who)s took the request.") % {"who": who}
        else:
            text = _("%(who)s assigned the request to %(person)s.") % {"who": who, "person": names.person(after)}
    elif event.kind == Kind.FIELD:
        text = _field_sentence(event, who, names)
    elif event.kind == Kind.COMMENT:
        text = (_("%(who)s added an internal note.") if event.internal else _("%(who)s commented.")) % {"who": who}
    elif event.kind == Kind.ATTACHMENT:
        name = after.get("name") if isinstance(after, dict) else None
        text = _("%(who)s attached “%(name)s”.") % {"who": who, "name": name or _("a file")}
    elif event.kind in (Kind.WATCHER_ADDED, Kind.WATCHER_REMOVED):
        target = after if event.kind == Kind.WATCHER_ADDED else event.before
        own = event.actor is not None and target == event.actor.username
        if event.kind == Kind.WATCHER_ADDED:
            text = (_("%(who)s started watching.") if own else _("%(who)s added %(person)s as a watcher.")) % {
                "who": who, "person": names.person(target)}
        else:
            text = (_("%(who)s stopped watching.") if own else _("%(who)s removed %(person)s from the watchers.")) % {
                "who": who, "person": names.person(target)}
    elif event.kind in (Kind.SLA_DUE_SOON, Kind.SLA_BREACHED):
        clock = _("first response") if event.field == "first_response" else _("resolution")
        text = (_("The %(clock)s is due soon (%(due)s).") if event.kind == Kind.SLA_DUE_SOON
                else _("The %(clock)s deadline passed (%(due)s).")) % {"clock": clock, "due": _when(after)}
    elif event.kind in (Kind.MERGED, Kind.MERGED_FROM, Kind.SPLIT, Kind.LINK_ADDED, Kind.LINK_REMOVED):
        text = _related_sentence(event, who)
    else:
        return None  # a kind this module does not word (yet): the page shows it its own way
    if event.note:
        text += " " + _("Note: %(note)s") % {"note": event.note}
    return text


def sentences(events: Iterable[TicketEvent]) -> dict[int, str | None]:
    """Event id → its sentence, for a page of history (events with `actor__centre` selected)."""
    rows = list(events)
    names = _Names(rows)
    return {event.pk: sentence(event, names) for event in rows}
