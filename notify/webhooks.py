"""Webhooks: the centres' tools hear of alerts, request changes and messages in chosen topics.

- **Outbox**: `enqueue_alert` / `enqueue_ticket` write `WebhookDelivery` rows inside the event's
  transaction; messages are picked up by `scan_messages` from a per-topic cursor (ids are committed
  in order within a topic), so posting a message costs nothing extra.
- **Who may receive what**: a webhook acts as the manager who registered it; at delivery the item
  must still be readable by that person (the apps' selectors) and its TLP within the webhook's
  `max_tlp` (notify.tlp). Otherwise the delivery is `skipped` and nothing leaves.
- **Signature** (as Stripe/GitHub): `X-Hub-Timestamp: <unix seconds>` and
  `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` with the webhook's secret.
- **SSRF**: the host is resolved, every address checked (no loopback, private, link-local, multicast,
  reserved …, unless HUB_WEBHOOK_ALLOW_PRIVATE=1), and the connection made to the very address that
  was checked (no second resolution to race); redirects are never followed; short time-outs.
- **Isolation**: `deliver_webhooks` sends different webhooks in parallel threads, each webhook's
  deliveries one at a time in order; a slow or failing receiver holds only its own queue.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import logging
import socket
import ssl
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hub.errors import FORBIDDEN, INVALID, NOT_FOUND, HubError
from notify.models import Webhook, WebhookCursor, WebhookDelivery, WebhookEvent, WebhookTlp
from notify.selectors import may_manage_webhooks, webhooks_of
from notify.tlp import webhook_may_carry

logger = logging.getLogger(__name__)

USER_AGENT = "InterCentreHub-Webhook/1"
LEASE = timedelta(minutes=2)
MAX_BACKOFF = timedelta(hours=6)
MIN_SECRET = 16
MAX_RESPONSE_READ = 4096


# --- the address check (SSRF) ---------------------------------------------------------------------------


class UnsafeTarget(ValueError):
    """The URL is not one the hub may call (the message says why, for the log and the 400)."""


def _forbidden_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
            or ip.is_unspecified or not ip.is_global)


def check_url_syntax(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL without credentials, or UnsafeTarget."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget(f"not a valid URL ({exc})") from None
    if parts.scheme not in {"http", "https"}:
        raise UnsafeTarget("only http and https URLs")
    if not parts.hostname:
        raise UnsafeTarget("the URL has no host")
    if parts.username or parts.password:
        raise UnsafeTarget("no user name or password in the URL (sign with the secret instead)")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def resolve_safely(host: str, port: int) -> str:
    """The first address of `host` after checking *every* address it resolves to: a name that
    resolves to one public and one private address is refused (an attacker controls both)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UnsafeTarget(f"the host name does not resolve ({exc.strerror or exc})") from None
    addresses = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])  # an IPv6 address may carry "%zone"
        if _forbidden_address(ip) and not settings.HUB_WEBHOOK_ALLOW_PRIVATE:
            raise UnsafeTarget(f"{host} resolves to {ip}, a loopback, private or reserved address")
        addresses.append(str(ip))
    if not addresses:
        raise UnsafeTarget("the host name does not resolve")
    return addresses[0]


def check_target(url: str) -> str:
    """Registration's check: syntax, then resolution (returns the address it would use)."""
    _scheme, host, port = check_url_syntax(url)
    return resolve_safely(host, port)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, whatever the name resolves to by now."""

    def __init__(self, host: str, port: int, ip: str, connect_timeout: float, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._ip, self._connect_timeout = ip, connect_timeout

    def connect(self) -> None:
        self.sock = socket.create_connection((self._ip, self.port), self._connect_timeout)
        self.sock.settimeout(self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, ip: str, connect_timeout: float, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._ip, self._connect_timeout = ip, connect_timeout

    def connect(self) -> None:
        sock = socket.create_connection((self._ip, self.port), self._connect_timeout)
        sock.settimeout(self.timeout)
        # The certificate is checked against the name in the URL (SNI too), not the address.
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


@dataclass
class Response:
    status: int
    body: bytes
    duration_ms: int


def post_json(url: str, body: bytes, headers: dict[str, str]) -> Response:
    """POST once, checked and pinned; never follows a redirect (a 3xx is just a failed answer)."""
    scheme, host, port = check_url_syntax(url)
    ip = resolve_safely(host, port)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    cls = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    conn = cls(host, port, ip, settings.HUB_WEBHOOK_CONNECT_TIMEOUT, settings.HUB_WEBHOOK_TIMEOUT)
    started = time.monotonic()
    try:
        conn.request("POST", path, body=body, headers={**headers, "Content-Type": "application/json",
                                                      "User-Agent": USER_AGENT, "Connection": "close"})
        answer = conn.getresponse()
        data = answer.read(MAX_RESPONSE_READ)
        return Response(answer.status, data, int((time.monotonic() - started) * 1000))
    finally:
        conn.close()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


# --- registration (the manager's actions) ----------------------------------------------------------------


def _clean_events(events: Any) -> list[str]:
    if not isinstance(events, list) or not events:
        raise HubError(INVALID, _("events: a list of alert, ticket, message."), fields=["events"])
    unknown = [e for e in events if e not in WebhookEvent.values]
    if unknown:
        raise HubError(INVALID, _("events: unknown event %(event)s (alert, ticket, message)."), fields=["events"],
                       event=str(unknown[0])[:40])
    return sorted(set(events), key=WebhookEvent.values.index)


def _clean_topics(user, slugs: Any, events: list[str]) -> list:
    from chat.models import Topic
    from chat.selectors import can_view_topic

    slugs = slugs or []
    if not isinstance(slugs, list) or not all(isinstance(s, str) for s in slugs):
        raise HubError(INVALID, _("topics: a list of topic slugs."), fields=["topics"])
    if WebhookEvent.MESSAGE in events and not slugs:
        raise HubError(INVALID, _("topics: message events need the topics whose messages to send."),
                       fields=["topics"])
    topics = []
    for slug in dict.fromkeys(slugs):
        topic = Topic.objects.filter(slug=slug, kind=Topic.Kind.CHANNEL).first()
        if topic is None or not can_view_topic(user, topic):
            raise HubError(INVALID, _("topics: no topic %(slug)s that you may read."), fields=["topics"],
                           slug=slug[:100])
        topics.append(topic)
    return topics


def _clean_url(url: Any) -> str:
    if not isinstance(url, str) or not url.strip() or len(url) > 500:
        raise HubError(INVALID, _("url: an http(s) URL of at most 500 characters."), fields=["url"])
    url = url.strip()
    try:
        check_target(url)
    except UnsafeTarget as exc:
        raise HubError(INVALID, _("url: refused: %(reason)s."), fields=["url"], reason=str(exc)) from None
    return url


def register_webhook(*, user, url: Any, events: Any, secret: Any = None, topics: Any = None, name: str = "",
                     max_tlp: str | None = None, centre_code: str | None = None) -> tuple[Webhook, str]:
    """A manager registers a webhook for their centre (a hub admin for any centre). Returns the
    webhook and its secret (generated when none was given; shown once)."""
    from hub.models import Centre

    if not may_manage_webhooks(user):
        raise HubError(FORBIDDEN, _("Only a centre's managers register webhooks."))
    centre = user.centre
    if centre_code and user.is_hub_admin:
        centre = Centre.objects.filter(code=str(centre_code).upper()).first()
    if centre is None:
        raise HubError(INVALID, _("centre: the webhook needs a centre."), fields=["centre"])
    clean_events = _clean_events(events)
    clean_topics = _clean_topics(user, topics, clean_events)
    if secret is None or secret == "":
        from notify.models import new_secret

        secret = new_secret()
    if not isinstance(secret, str) or not MIN_SECRET <= len(secret) <= 200:
        raise HubError(INVALID, _("secret: between %(min)s and 200 characters."), fields=["secret"], min=MIN_SECRET)
    if max_tlp is None:
        max_tlp = WebhookTlp.GREEN
    if max_tlp not in WebhookTlp.values:
        raise HubError(INVALID, _("max_tlp: clear, green or amber (amber+strict and red never leave)."),
                       fields=["max_tlp"])
    if not isinstance(name, str) or len(name) > 100:
        raise HubError(INVALID, _("name: at most 100 characters."), fields=["name"])
    clean_url = _clean_url(url)
    with transaction.atomic():
        webhook = Webhook.objects.create(centre=centre, created_by=user, url=clean_url, secret=secret,
                                         events=clean_events, max_tlp=max_tlp, name=name.strip())
        webhook.topics.set(clean_topics)
        _start_cursors(webhook, clean_topics)
    logger.info("webhook %s registered by %s for %s: %s %s", webhook.pk, user, centre.code, clean_url, clean_events)
    return webhook, secret


def _start_cursors(webhook: Webhook, topics: list) -> None:
    """A new webhook hears of messages from now on, not the topic's whole history."""
    from chat.selectors import latest_message_id

    for topic in topics:
        WebhookCursor.objects.get_or_create(webhook=webhook, topic=topic,
                                            defaults={"last_id": latest_message_id(topic)})


def get_webhook(user, webhook_id: int) -> Webhook:
    webhook = webhooks_of(user).filter(pk=webhook_id).first()
    if webhook is None:
        raise HubError(NOT_FOUND, _("No such webhook."))
    return webhook


def update_webhook(*, user, webhook_id: int, active: bool | None = None, events: Any = None, topics: Any = None,
                   max_tlp: str | None = None) -> Webhook:
    webhook = get_webhook(user, webhook_id)
    with transaction.atomic():
        if events is not None:
            webhook.events = _clean_events(events)
        if topics is not None or events is not None:
            chosen = _clean_topics(user, topics if topics is not None else [t.slug for t in webhook.topics.all()],
                                   webhook.events)
            webhook.topics.set(chosen)
            WebhookCursor.objects.filter(webhook=webhook).exclude(topic__in=chosen).delete()
            _start_cursors(webhook, chosen)
        if max_tlp is not None:
            if max_tlp not in WebhookTlp.values:
                raise HubError(INVALID, _("max_tlp: clear, green or amber (amber+strict and red never leave)."),
                               fields=["max_tlp"])
            webhook.max_tlp = max_tlp
        if active is not None:
            webhook.active = bool(active)
        webhook.save()
    return webhook


def delete_webhook(*, user, webhook_id: int) -> None:
    webhook = get_webhook(user, webhook_id)
    logger.info("webhook %s (%s) deleted by %s", webhook.pk, webhook.url, user)
    webhook.delete()


def send_test(*, user, webhook_id: int) -> WebhookDelivery:
    """The "send test" button: a `ping` delivery, queued like any other (the worker sends it)."""
    webhook = get_webhook(user, webhook_id)
    return WebhookDelivery.objects.create(webhook=webhook, event="ping")


# --- enqueueing (inside the event's transaction) ------------------------------------------------------


def _subscribed(event: str):
    return [w for w in Webhook.objects.filter(active=True).select_related("created_by__centre")
            if event in w.events]


def subscribed_to_alerts() -> list[Webhook]:
    """The active webhooks that asked for alerts, with their owners (read once per expansion pass)."""
    return _subscribed(WebhookEvent.ALERT)


def enqueue_alert(*, alert, event: str, webhooks: list[Webhook] | None = None) -> None:
    """An alert's event for each webhook that asked for alerts (`webhooks`: those, already read)."""
    from alerts.selectors import audience_of

    audience = audience_of(alert)
    subscribed = webhooks if webhooks is not None else _subscribed(WebhookEvent.ALERT)
    rows = [WebhookDelivery(webhook=w, event=event, alert=alert) for w in subscribed
            if webhook_may_carry(alert, w.max_tlp) and audience.allows(w.created_by)]
    if rows:
        WebhookDelivery.objects.bulk_create(rows)


def ticket_may_leave(webhook: Webhook, ticket, event, *, items: dict | None = None, readers: Any = None) -> bool:
    """Whether a request's change may leave by `webhook`, checked when it is queued and again when
    it is sent: the webhook's owner may read the change (the request; for a comment or a file, that
    item itself: `requests.selectors.may_read_event`, the rule of the request's history) and its
    marking — the item's own, never looser than the request's (`effective_tlp`) — is within the
    webhook's ceiling. A change the owner may not read is not sent at all, not sent without its
    item: the history does not show it to them either."""
    from requests.selectors import audience_of, effective_tlp, items_named, items_of, may_read_event

    owner = webhook.created_by
    readers = readers if readers is not None else audience_of(ticket)
    if not readers.allows(owner) or not webhook_may_carry(ticket, webhook.max_tlp):
        return False
    if event is None:
        return True
    items = items if items is not None else items_of([event])
    if not may_read_event(owner, ticket, event, items, readers):
        return False
    return all(webhook_may_carry(effective_tlp(ticket, items[key].tlp), webhook.max_tlp)
               for key in items_named(event))


def enqueue_ticket(*, ticket, event) -> None:
    from requests.selectors import audience_of, items_of

    readers, items = audience_of(ticket), items_of([event])
    rows = [WebhookDelivery(webhook=w, event=f"ticket.{event.kind}", ticket=ticket, ticket_event=event)
            for w in _subscribed(WebhookEvent.TICKET)
            if ticket_may_leave(w, ticket, event, items=items, readers=readers)]
    if rows:
        WebhookDelivery.objects.bulk_create(rows)


def scan_messages(limit: int = 500) -> int:
    """Queue the new messages of every watched topic after each webhook's cursor; returns how many."""
    from chat.models import Message

    queued = 0
    cursors = WebhookCursor.objects.filter(webhook__active=True).select_related("webhook")
    for cursor in cursors:
        if WebhookEvent.MESSAGE not in cursor.webhook.events:
            continue
        with transaction.atomic():
            locked = WebhookCursor.objects.select_for_update().filter(pk=cursor.pk).first()
            if locked is None:
                continue
            ids = list(Message.objects.filter(topic_id=locked.topic_id, pk__gt=locked.last_id, deleted_at__isnull=True)
                       .order_by("id").values_list("pk", flat=True)[:limit])
            if not ids:
                continue
            WebhookDelivery.objects.bulk_create(
                [WebhookDelivery(webhook_id=locked.webhook_id, event="message.created", message_id=pk)
                 for pk in ids])
            locked.last_id = ids[-1]
            locked.save(update_fields=["last_id"])
            queued += len(ids)
    return queued


# --- the body, decided at delivery -----------------------------------------------------------------


class NotAllowed(Exception):
    """The item may not leave by this webhook now (rights changed, TLP too high, item gone)."""


def payload(delivery: WebhookDelivery) -> dict[str, Any]:
    webhook = delivery.webhook
    owner = webhook.created_by
    if not owner.is_active or not may_manage_webhooks(owner) or (
            not owner.is_hub_admin and owner.centre_id != webhook.centre_id):
        raise NotAllowed("the manager who registered the webhook no longer manages it")
    body: dict[str, Any] = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{settings.HUB_PUBLIC_URL}/{delivery.pk}")),
                            "event": delivery.event, "created_at": delivery.created_at.isoformat(),
                            "hub": settings.HUB_PUBLIC_URL, "centre": webhook.centre.code}
    if delivery.event == "ping":
        body["data"] = {"webhook": webhook.pk, "message": "Hub webhook test"}
        return body
    if delivery.alert_id:
        from alerts.selectors import visible_alerts
        from alerts.serializers import alert_out

        alert = visible_alerts(owner).prefetch_related("indicators", "shared_with").filter(pk=delivery.alert_id).first()
        if alert is None or not webhook_may_carry(alert, webhook.max_tlp):
            raise NotAllowed("the alert may not leave by this webhook")
        from chat.promotion import promoted_from

        # Its quotes as the owner may read them now, each within the webhook's max_tlp (chat.promotion).
        body["data"] = {"alert": {**alert_out(alert), "promoted_from": promoted_from(alert.origin, owner,
                                                                                      max_tlp=webhook.max_tlp)}}
    elif (ticket := delivery.ticket) is not None:
        from requests.selectors import with_summary_relations
        from requests.serializers import event_out, ticket_summary

        event = delivery.ticket_event
        with_summary_relations([ticket])
        if not ticket_may_leave(webhook, ticket, event):
            raise NotAllowed("the request, or the comment or file it is about, may not leave by this webhook")
        data: dict[str, Any] = {"ticket": ticket_summary(ticket)}
        if event is not None and not event.internal:
            data["change"] = event_out(event)
        body["data"] = data
    elif (message := delivery.message) is not None:
        from chat.selectors import may_read_messages
        from chat.serializers import message_out

        if (not may_read_messages(owner, [message])[0] or not webhook_may_carry(message, webhook.max_tlp)
                or not webhook.topics.filter(pk=message.topic_id).exists()):
            raise NotAllowed("the message may not leave by this webhook")
        body["data"] = {"message": message_out(message)}
    else:
        raise NotAllowed("the item no longer exists")
    return body


def encode(body: dict[str, Any]) -> bytes:
    from hub.lib.jsonutil import dumps

    return dumps(body).encode()


# --- delivery (the worker) ------------------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """30 s, 1, 2, 4 … minutes, at most six hours."""
    return min(timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _claim(now: datetime) -> list[WebhookDelivery]:
    """The oldest due delivery of each webhook (a webhook's events arrive in order, one at a time)."""
    with transaction.atomic():
        qs = (WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, not_before__lte=now,
                                             webhook__active=True).order_by("webhook_id", "id"))
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True, of=("self",))
        first: dict[int, WebhookDelivery] = {}
        for row in qs[:1000]:
            first.setdefault(row.webhook_id, row)
        # Only where nothing older of the same webhook is still waiting (a retry keeps its place).
        older = set(WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING,
                                                   webhook_id__in=list(first))
                    .values("webhook_id").order_by().annotate(m=Min("id")).values_list("webhook_id", "m"))
        rows = [row for row in first.values() if (row.webhook_id, row.pk) in older]
        if rows:
            WebhookDelivery.objects.filter(pk__in=[r.pk for r in rows]).update(not_before=now + LEASE)
    return rows


def deliver_one(delivery_id: int) -> str:
    """Build, sign and send one delivery; record the outcome. Runs in a pool thread."""
    close_old_connections()
    try:
        delivery = (WebhookDelivery.objects.select_related("webhook__centre", "webhook__created_by__centre",
                                                           "ticket_event", "message__topic", "ticket")
                    .get(pk=delivery_id))
        attempts = delivery.attempts + 1
        try:
            body = encode(payload(delivery))
        except NotAllowed as exc:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(status=WebhookDelivery.Status.SKIPPED,
                                                                  attempts=attempts, last_error=str(exc)[:500])
            return "skipped"
        timestamp = int(time.time())
        headers = {"X-Hub-Timestamp": str(timestamp),
                   "X-Hub-Signature-256": sign(delivery.webhook.secret, timestamp, body),
                   "X-Hub-Event": delivery.event, "X-Hub-Delivery": str(delivery.pk)}
        try:
            answer = post_json(delivery.webhook.url, body, headers)
        except (UnsafeTarget, OSError, http.client.HTTPException) as exc:
            return _failed(delivery, attempts, body, f"{type(exc).__name__}: {exc}", None, None)
        if 200 <= answer.status < 300:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                status=WebhookDelivery.Status.DELIVERED, attempts=attempts, body=body.decode(),
                response_status=answer.status, duration_ms=answer.duration_ms, delivered_at=timezone.now(),
                last_error="")
            return "delivered"
        return _failed(delivery, attempts, body, f"HTTP {answer.status}", answer.status, answer.duration_ms)
    finally:
        close_old_connections()


def _failed(delivery: WebhookDelivery, attempts: int, body: bytes, error: str, status: int | None,
            duration_ms: int | None) -> str:
    done = attempts >= settings.HUB_WEBHOOK_MAX_ATTEMPTS
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.FAILED if done else WebhookDelivery.Status.PENDING, attempts=attempts,
        body=body.decode(), response_status=status, duration_ms=duration_ms, last_error=error[:500],
        not_before=timezone.now() + backoff(attempts))
    logger.warning("webhook delivery %s to %s failed (attempt %s): %s", delivery.pk, delivery.webhook.url,
                   attempts, error)
    return "failed" if done else "retry"


_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=max(settings.HUB_WEBHOOK_CONCURRENCY, 1),
                                   thread_name_prefix="webhook")
    return _pool


def deliver_webhooks(now: datetime | None = None, wait: float | None = None) -> dict[str, int]:
    """One pass: queue new messages, then send each webhook's oldest due delivery in parallel. Waits
    at most `wait` seconds (default: the HTTP time-out and a little) for answers; a delivery still
    running after that finishes in its thread and records itself, holding up nothing."""
    now = now or timezone.now()
    scan_messages()
    rows = _claim(now)
    counts = {"delivered": 0, "retry": 0, "failed": 0, "skipped": 0, "running": 0}
    if not rows:
        return counts
    futures = [_executor().submit(deliver_one, row.pk) for row in rows]
    deadline = time.monotonic() + (wait if wait is not None
                                   else settings.HUB_WEBHOOK_CONNECT_TIMEOUT + settings.HUB_WEBHOOK_TIMEOUT + 1)
    for future in futures:
        remaining = deadline - time.monotonic()
        try:
            counts[future.result(timeout=max(remaining, 0))] += 1
        except TimeoutError:
            counts["running"] += 1
        except Exception:  # noqa: BLE001 - one broken delivery must not hide the others' results
            logger.exception("webhook delivery crashed")
            counts["retry"] += 1
    return counts

