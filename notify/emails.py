"""Turning an outbox row into the email itself, at delivery time.

Everything is decided here, for the recipient, now: whether they may still read the item (the apps'
own selectors), their language, whether TLP lets the content into a mail (notify.tlp), the link to
the item, the reply address of a request, and the RFC 8058 one-click unsubscribe headers. A row that
leaves nothing the person may read is not sent (status `skipped`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from hub.lib.rendering import absolute_links
from hub.models import User
from notify import preferences as prefs
from notify.models import Email, Kind, Notification
from notify.selectors import digest_for, item_url, message_url, readable
from notify.tlp import email_withholds_body, tlp_of
from notify.tokens import reply_address, reply_base_address, unsubscribe_token

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from requests.models import Ticket, TicketEvent

# What a builder makes of an outbox row: (subject, template, context, reply-to), or None.
Built = tuple[str, str, dict[str, Any], str | None]


@dataclass
class Composed:
    message: EmailMultiAlternatives | None
    skip_reason: str = ""


def absolute(path: str) -> str:
    return settings.HUB_PUBLIC_URL + path


def _unsubscribe_what(email: Email) -> str:
    if email.type == Email.Type.DIGEST:
        return "digest"
    if email.type == Email.Type.BATCH:
        return "batch"
    if email.type == Email.Type.ESCALATION:
        return Kind.ESCALATION
    if email.type == Email.Type.EVENT:
        return Kind.EVENT
    if email.type == Email.Type.ALERT and (alert := email.alert) is not None:
        return prefs.alert_kind(alert.severity)
    return "batch"


def compose(email: Email) -> Composed:
    user = User.objects.select_related("centre").filter(pk=email.user_id).first()
    if user is None or not user.is_active:
        return Composed(None, "the person is no longer active")
    if not user.email:
        return Composed(None, "the person has no email address")
    language = prefs.email_language(user)
    with translation.override(language):
        built = _BUILDERS[email.type](email, user)
        if built is None:
            return Composed(None, "nothing the person may still read")
        subject, template, context, reply_to = built
        subject = " ".join(subject.split())[:250]  # a title with a line break must not break the header
        what = _unsubscribe_what(email)
        unsubscribe_url = absolute(f"/notifications/unsubscribe/{unsubscribe_token(user_id=user.pk, what=what)}/")
        context.update({
            "person": user, "hub_url": settings.HUB_PUBLIC_URL, "settings_url": absolute("/settings/notifications/"),
            "unsubscribe_url": unsubscribe_url, "language": language, "subject": subject,
        })
        text = render_to_string(f"notify/email/{template}.txt", context).strip() + "\n"
        # Each piece of user HTML had its links resolved against its own item's page (the templates'
        # absolute_links); this pass catches anything a template adds later without it.
        html = absolute_links(render_to_string(f"notify/email/{template}.html", context),
                              settings.HUB_PUBLIC_URL + "/")
    _local, domain = reply_base_address()
    headers = {
        "Message-ID": make_msgid(domain=domain),
        # RFC 8058: mail clients show "Unsubscribe" and POST List-Unsubscribe=One-Click to the URL.
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": f"<{email.type}.notifications.{domain}>",
        # RFC 3834: generated mail; auto-responders (out-of-office) must not answer it.
        "Auto-Submitted": "auto-generated",
        "X-Auto-Response-Suppress": "All",
        "Content-Language": language,
    }
    message = EmailMultiAlternatives(subject=subject, body=text, to=[user.email], headers=headers,
                                     reply_to=[reply_to] if reply_to else None)
    message.attach_alternative(html, "text/html")
    return Composed(message)


# --- one builder per type: (subject, template, context, reply-to) or None ------------------------------


def _alert_context(email: Email, user: User) -> dict[str, Any] | None:
    from alerts.selectors import visible_alerts

    if email.alert_id is None:
        return None
    alert = visible_alerts(user).prefetch_related("indicators").filter(pk=email.alert_id).first()
    if alert is None:
        return None
    return {"alert": alert, "withheld": email_withholds_body(alert), "tlp": tlp_of(alert).upper(),
            "url": absolute(alert.get_absolute_url()),
            "raised_at": timezone.localtime(alert.created_at)}


def _alert_subject(context: dict[str, Any], withheld: str, full: str) -> str:
    """The subject of an alert's email; a withheld (TLP:RED, AMBER+STRICT) alert's never names it."""
    alert = context["alert"]
    values = {"severity": alert.get_severity_display(), "id": alert.pk, "title": alert.title}
    return (withheld if context["withheld"] else full) % values


def _alert(email: Email, user: User) -> Built | None:
    context = _alert_context(email, user)
    if context is None:
        return None
    subject = _alert_subject(context, _("[Hub] A %(severity)s alert #%(id)s you may read is waiting"),
                             _("[Hub] %(severity)s alert #%(id)s: %(title)s"))
    return subject, "alert", context, None


def _escalation(email: Email, user: User) -> Built | None:
    context = _alert_context(email, user)
    if context is None:
        return None
    step = int(email.detail.get("step", 1))
    from alerts.services import escalation_delay

    minutes = int((escalation_delay(context["alert"].severity) or timedelta()).total_seconds() // 60) * step
    context.update({"centre": email.detail.get("centre", ""), "step": step, "minutes": minutes})
    subject = _alert_subject(context, _("[Hub] Unacknowledged %(severity)s alert #%(id)s"),
                             _("[Hub] Unacknowledged %(severity)s alert #%(id)s: %(title)s"))
    return subject, "escalation", context, None


def _batch(email: Email, user: User) -> Built | None:
    rows = list(email.notifications.filter(seen_at__isnull=True)
                .select_related("actor__centre", "ticket__requesting_centre", "ticket__target_centre",
                                "ticket_event__actor", "message__topic", "message__author__centre")
                .order_by("created_at", "id"))
    rows = readable(user, rows)
    if not rows:
        return None
    from requests.selectors import items_of

    items = items_of([n.ticket_event for n in rows if n.ticket_event is not None])
    mentions: dict[int, dict[str, Any]] = {}
    tickets: dict[int, dict[str, Any]] = {}
    for n in rows:
        if (message := n.message) is not None:
            topic = message.topic
            group = mentions.setdefault(topic.pk, {"topic": topic, "items": []})
            group["items"].append({"n": n, "message": message, "withheld": email_withholds_body(message),
                                   "url": absolute(message_url(message))})
        elif (ticket := n.ticket) is not None:
            group = tickets.setdefault(ticket.pk, {
                "ticket": ticket, "items": [], "url": absolute(item_url(n)),
                "withheld": email_withholds_body(ticket),
                "reply_to": reply_address(ticket_id=ticket.pk, user_id=user.pk)})
            group["items"].append(_ticket_change(n, ticket, items))
    count = len(rows)
    if len(tickets) == 1 and not mentions:
        only = next(iter(tickets.values()))
        ticket = only["ticket"]
        subject = (_("[Hub] %(reference)s: a change you have not seen") if count == 1
                   else _("[Hub] %(reference)s: %(n)s changes you have not seen")) % {
            "reference": ticket.reference, "n": count}
        if not only["withheld"]:
            subject += f" — {ticket.title}"
    else:
        subject = _("[Hub] %(n)s things you have not seen") % {"n": count}
    reply_to = next(iter(tickets.values()))["reply_to"] if len(tickets) == 1 else None
    context = {"mentions": list(mentions.values()), "tickets": list(tickets.values()),
               "unseen_minutes": settings.HUB_EMAIL_UNSEEN_MINUTES}
    return subject, "batch", context, reply_to


def _digest(email: Email, user: User) -> Built | None:
    now = timezone.now()
    since = email.created_at - timedelta(days=7 if email.detail.get("period") == "weekly" else 1)
    if email.detail.get("since"):
        since = datetime.fromisoformat(email.detail["since"])
    content = digest_for(user, since=since, now=email.created_at)
    if content.empty:
        return None
    context = {"content": content, "period": email.detail.get("period", "daily"), "now": timezone.localtime(now),
               "tickets_url": absolute("/tickets/"), "alerts_url": absolute("/alerts/"),
               "items": [{"n": n, "url": absolute(item_url(n))} for n in content.notifications]}
    if email.detail.get("period") == "weekly":
        subject = _("[Hub] Your weekly digest: %(open)s open requests, %(late)s overdue")
    else:
        subject = _("[Hub] Your daily digest: %(open)s open requests, %(late)s overdue")
    subject = subject % {"open": len(content.open_requests), "late": len(content.breached)}
    for t in content.open_requests:  # due soon and breached are some of them
        t.email_url = absolute(t.get_absolute_url())
        t.withheld = email_withholds_body(t)
    for a in content.unacknowledged:
        a.email_url = absolute(a.get_absolute_url())
        a.withheld = email_withholds_body(a)
    return subject, "digest", context, None


def _event(email: Email, user: User) -> Built | None:
    """An event's reminder, if the event still takes place, has not started, and the person is
    still registered for it (they may have withdrawn while quiet hours held the email)."""
    from events.models import Event, Registration
    from events.serializers import event_url

    event = (Event.objects.select_related("organiser")
             .filter(pk=email.detail.get("event"), cancelled_at__isnull=True, starts_at__gt=timezone.now()).first())
    if event is None or not Registration.objects.filter(event=event, user=user).exists():
        return None
    starts, ends = timezone.localtime(event.starts_at), timezone.localtime(event.ends_at)
    context = {"event": event, "url": event_url(event), "starts": starts, "ends": ends,
               "when": starts.strftime("%H:%M %d/%m/%Y")}
    subject = _("[Hub] Coming up %(when)s: %(title)s") % {"when": context["when"], "title": event.title}
    return subject, "event", context, None


def _test(email: Email, user: User) -> Built | None:
    return _("[Hub] Test email"), "test", {}, None


_BUILDERS: dict[str, Callable[[Email, User], Built | None]] = {
    Email.Type.ALERT: _alert,
    Email.Type.ESCALATION: _escalation,
    Email.Type.BATCH: _batch,
    Email.Type.DIGEST: _digest,
    Email.Type.EVENT: _event,
    Email.Type.TEST: _test,
}


def describe_ticket_event(event: TicketEvent | None, ticket: Ticket, *, withhold_name: bool = False) -> str:
    """One line in the reader's language: who did what to the request. `withhold_name`: the line
    goes into an email and the file's marking keeps its name out (TLP:RED, AMBER+STRICT)."""
    from requests.models import Status, TicketEvent

    if event is None:
        return ""
    who = event.actor.get_display_name() if event.actor is not None else _("The hub")
    kind = event.kind
    if kind == TicketEvent.Kind.CREATED:
        return _("%(who)s opened the request.") % {"who": who}
    if kind == TicketEvent.Kind.TRANSITION:
        labels: dict[Any, StrOrPromise] = dict(Status.choices)  # looked up by the stored values
        return _("%(who)s moved it from %(before)s to %(after)s.") % {
            "who": who, "before": labels.get(event.before, event.before), "after": labels.get(event.after, event.after)}
    if kind == TicketEvent.Kind.ASSIGNED:
        if event.after:
            return _("%(who)s assigned it to %(whom)s.") % {"who": who, "whom": event.after}
        return _("%(who)s removed the assignee.") % {"who": who}
    if kind == TicketEvent.Kind.COMMENT:
        return _("%(who)s commented.") % {"who": who}
    if kind == TicketEvent.Kind.ATTACHMENT:
        if withhold_name:
            return _("%(who)s attached a file marked TLP:RED or TLP:AMBER+STRICT (see it in the hub).") % {"who": who}
        name = (event.after or {}).get("name", "") if isinstance(event.after, dict) else ""
        return _("%(who)s attached %(name)s.") % {"who": who, "name": name}
    if kind == TicketEvent.Kind.FIELD:
        return _("%(who)s changed %(field)s.") % {"who": who, "field": event.field}
    if kind == TicketEvent.Kind.WATCHER_ADDED:
        return _("%(who)s added %(whom)s as a watcher.") % {"who": who, "whom": event.after}
    return _("%(who)s changed the request.") % {"who": who}


def _ticket_change(n: Notification, ticket: Ticket, items: dict[tuple[str, int], Any]) -> dict[str, Any]:
    """A request's change in an email (the reader may read it: `readable`): its line, and the public
    comment it is about, quoted unless the comment's own marking (never looser than the request's,
    `effective_tlp`) keeps its content out of email — then, like a file's name, it is withheld."""
    from requests.models import Comment
    from requests.selectors import effective_tlp, items_named

    event = n.ticket_event
    named = items_named(event) if event is not None else []
    item = items.get(named[0]) if named else None
    withheld = email_withholds_body(effective_tlp(ticket, item.tlp) if item is not None else ticket.tlp)
    comment = item if isinstance(item, Comment) and not item.internal else None
    return {"n": n, "text": describe_ticket_event(event, ticket, withhold_name=withheld), "comment": comment,
            "withheld": withheld}
