"""The worker's mail jobs, plain functions the job runner calls (until it lands: `run_worker`).

- `queue_batches`: the unseen rule — mentions and request changes still unseen after
  HUB_EMAIL_UNSEEN_MINUTES become one email per person, at most one per HUB_EMAIL_BATCH_MINUTES,
  outside quiet hours.
- `queue_digests`: daily/weekly digests for those who asked, at HUB_DIGEST_HOUR local time.
- `deliver_emails`: sends what is due, in order, with retries and back-off.

Each claims its rows with a conditional UPDATE (or `SKIP LOCKED`), so two workers never send the same
email twice; a worker that dies mid-send leaves a lease that expires and the email is retried (an
email may then, rarely, arrive twice; it is never lost).
"""

from __future__ import annotations

import logging
import smtplib
import socket
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from hub.models import User
from notify import preferences as prefs
from notify.emails import compose
from notify.models import Channel, Digest, Email, Notification, NotifySettings

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=2)
BATCHED_TYPES = (Notification.Type.MENTION, Notification.Type.TICKET)


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 … minutes, at most two hours."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


# --- the unseen rule ---------------------------------------------------------------------------------


def _mark_read_mentions_seen(candidates) -> None:
    """A mention in a topic the person has since read up to (chat's read marker) was seen."""
    from chat.models import ReadMarker

    rows = list(candidates.filter(message__isnull=False).values_list("pk", "user_id", "message__topic_id",
                                                                     "message_id"))
    if not rows:
        return
    markers = {(m.user_id, m.topic_id): m.last_read_id for m in ReadMarker.objects.filter(
        user_id__in={r[1] for r in rows}, topic_id__in={r[2] for r in rows})}
    seen = [pk for pk, user_id, topic_id, message_id in rows if markers.get((user_id, topic_id), 0) >= message_id]
    if seen:
        Notification.objects.filter(pk__in=seen, seen_at__isnull=True).update(seen_at=timezone.now())


def queue_batches(now: datetime | None = None) -> list[Email]:
    """One email per person for what they chose email for and have not seen in the hub within
    HUB_EMAIL_UNSEEN_MINUTES; returns the emails queued."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.HUB_EMAIL_UNSEEN_MINUTES)
    candidates = Notification.objects.filter(channel=Channel.EMAIL, type__in=BATCHED_TYPES, email__isnull=True,
                                             seen_at__isnull=True, created_at__lte=cutoff)
    _mark_read_mentions_seen(candidates)
    user_ids = sorted(set(candidates.values_list("user_id", flat=True)))
    if not user_ids:
        return []
    period = timedelta(minutes=settings.HUB_EMAIL_BATCH_MINUTES)
    last_batch = dict(Email.objects.filter(user_id__in=user_ids, type=Email.Type.BATCH)
                      .values("user_id").annotate(at=Max("created_at")).values_list("user_id", "at"))
    settings_by = prefs.settings_by_user(user_ids)
    centre_of = dict(User.objects.filter(pk__in=user_ids).values_list("pk", "centre_id"))
    queued = []
    for user_id in user_ids:
        if last_batch.get(user_id) and last_batch[user_id] > now - period:
            continue  # one per period: the rest waits for the next
        if prefs.quiet_until(settings_by[user_id], now, centre=centre_of.get(user_id)) is not None:
            continue  # held (not lost) until their working hours
        with transaction.atomic():
            email = Email.objects.create(user_id=user_id, type=Email.Type.BATCH, created_at=now, not_before=now)
            # The claim: rows another worker took meanwhile no longer match `email__isnull`.
            claimed = candidates.filter(user_id=user_id).update(email=email)
            if not claimed:
                email.delete()
                continue
        queued.append(email)
    return queued


# --- digests -----------------------------------------------------------------------------------------


def _digest_slot(period: str, now: datetime) -> datetime | None:
    """The most recent moment a digest of `period` was due (None before the first of today's)."""
    local = timezone.localtime(now)
    slot = local.replace(hour=settings.HUB_DIGEST_HOUR, minute=0, second=0, microsecond=0)
    if period == Digest.WEEKLY:
        slot -= timedelta(days=local.weekday())
    if slot > local:
        slot -= timedelta(days=7 if period == Digest.WEEKLY else 1)
    return slot


def queue_digests(now: datetime | None = None) -> list[Email]:
    now = now or timezone.now()
    queued = []
    for row in NotifySettings.objects.exclude(digest=Digest.OFF).filter(user__is_active=True):
        slot = _digest_slot(row.digest, now)
        if slot is None or (row.digest_sent_at is not None and row.digest_sent_at >= slot):
            continue
        since = row.digest_sent_at or (slot - timedelta(days=7 if row.digest == Digest.WEEKLY else 1))
        with transaction.atomic():
            claimed = NotifySettings.objects.filter(pk=row.pk, digest_sent_at=row.digest_sent_at).update(
                digest_sent_at=now)
            if not claimed:
                continue  # another worker queued it
            queued.append(Email.objects.create(user_id=row.user_id, type=Email.Type.DIGEST, created_at=now,
                                               not_before=now,
                                               detail={"period": row.digest, "since": since.isoformat()}))
    return queued


# --- sending -------------------------------------------------------------------------------------------


def _claim(now: datetime, limit: int) -> list[Email]:
    """Take up to `limit` due emails for this worker: a lease (not_before moved on) in a short
    transaction, so no other worker sends them while this one does, and no transaction stays open
    during SMTP."""
    with transaction.atomic():
        qs = Email.objects.filter(status=Email.Status.PENDING, not_before__lte=now).order_by("not_before", "id")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        rows = list(qs[:limit])
        if rows:
            Email.objects.filter(pk__in=[r.pk for r in rows]).update(not_before=now + LEASE)
    return rows


def deliver_emails(now: datetime | None = None, limit: int = 100) -> dict[str, int]:
    """Send the due emails; returns counts by outcome. A failure is retried with back-off, up to
    HUB_EMAIL_MAX_ATTEMPTS; the in-hub notification exists whatever happens here. A pass stops at
    HUB_EMAIL_SEND_BUDGET_SECONDS, or when the mail server cannot be reached at all, and gives back
    what it did not try (the next pass takes it at once)."""
    now = now or timezone.now()
    rows = _claim(now, limit)
    counts = {"sent": 0, "failed": 0, "retry": 0, "skipped": 0}
    if not rows:
        return counts
    deadline = time.monotonic() + settings.HUB_EMAIL_SEND_BUDGET_SECONDS
    mail = get_connection(fail_silently=False)
    try:
        for i, email in enumerate(rows):
            outcome, unreachable = _send_one(email, mail)
            counts[outcome] += 1
            if unreachable or time.monotonic() > deadline:
                untried = [r.pk for r in rows[i + 1:]]
                Email.objects.filter(pk__in=untried, status=Email.Status.PENDING).update(
                    not_before=timezone.now() + (backoff(1) if unreachable else timedelta(0)))
                break
    finally:
        try:
            mail.close()
        except Exception:  # noqa: BLE001 - closing a broken SMTP session must not hide the results
            logger.warning("closing the mail connection failed", exc_info=True)
    return counts


# Failures of the connection itself, not of one email: the next emails would fail the same way.
UNREACHABLE = (ConnectionError, TimeoutError, socket.gaierror, smtplib.SMTPConnectError,
               smtplib.SMTPServerDisconnected)


def _send_one(email: Email, mail) -> tuple[str, bool]:
    """Send one email: (outcome, whether the mail server could not be reached at all)."""
    attempts = email.attempts + 1
    try:
        composed = compose(email)
    except Exception as exc:  # noqa: BLE001 - a rendering bug must not stop the other emails
        logger.exception("email %s could not be composed", email.pk)
        return _failed(email, attempts, f"compose: {exc!r}"), False
    if composed.message is None:
        Email.objects.filter(pk=email.pk).update(status=Email.Status.SKIPPED, attempts=attempts,
                                                 last_error=composed.skip_reason)
        return "skipped", False
    message = composed.message
    message.connection = mail
    try:
        message.send()
    except Exception as exc:  # noqa: BLE001 - any SMTP or network error is retried
        logger.warning("email %s to %s failed (attempt %s): %r", email.pk, message.to, attempts, exc)
        try:
            mail.close()  # a broken session is not reused for the next email
        except Exception:  # noqa: BLE001
            pass
        return _failed(email, attempts, repr(exc)), isinstance(exc, UNREACHABLE)
    Email.objects.filter(pk=email.pk).update(
        status=Email.Status.SENT, attempts=attempts, sent_at=timezone.now(), to_address=message.to[0],
        subject=message.subject[:300], text=message.body, message_id=message.extra_headers.get("Message-ID", ""),
        last_error="")
    logger.info("email %s (%s) sent to %s", email.pk, email.type, message.to[0])
    return "sent", False


def _failed(email: Email, attempts: int, error: str) -> str:
    if attempts >= settings.HUB_EMAIL_MAX_ATTEMPTS:
        Email.objects.filter(pk=email.pk).update(status=Email.Status.FAILED, attempts=attempts,
                                                 last_error=error[:2000])
        return "failed"
    Email.objects.filter(pk=email.pk).update(attempts=attempts, last_error=error[:2000],
                                             not_before=timezone.now() + backoff(attempts))
    return "retry"


def run_mail_jobs(now: datetime | None = None) -> dict[str, int]:
    """Every mail job once, in the order that lets a pass send what it queued (tests, `--once`)."""
    from notify.services import expand_alert_notices

    now = now or timezone.now()
    notices = expand_alert_notices(now=now)
    batches = queue_batches(now)
    digests = queue_digests(now)
    counts = deliver_emails(now)
    return {"alert_notices": notices, "batches": len(batches), "digests": len(digests), **counts}
