"""Replies by email become public comments on the request.

`receive(raw, recipients=…)` is the one entry point, used by `manage.py run_mail_server` (SMTP/LMTP)
and `manage.py receive_email` (one message on standard input, for a mail server's pipe). A message
creates something only if all of these hold; otherwise it is logged (`InboundEmail`, outcome
`refused`) and nothing else happens — no bounce, so a forger learns nothing:

1. a recipient is a reply address whose token verifies and has not expired (notify.tokens);
2. the message's From is the email address of the person the token names (a forwarded reply is not
   the person speaking);
3. it is not an automatic reply (RFC 3834 `Auto-Submitted`, out-of-office);
4. the person is active and may still see the request (requests.selectors), which takes comments.

The text above the quote is kept (quoted text and signature stripped, notify.replies); attachments go
through the same service and limits as uploads (requests.services.add_attachment).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from hub.lib.text import storable
from notify.models import InboundEmail
from notify.replies import html_to_text, strip_reply
from notify.tokens import BadToken, looks_like_reply_address, parse_reply_address

logger = logging.getLogger(__name__)


@dataclass
class Received:
    record: InboundEmail

    @property
    def accepted(self) -> bool:
        return self.record.outcome == InboundEmail.Outcome.COMMENTED


def _header(message: EmailMessage, name: str) -> str:
    """A header's decoded value, with what no text column takes (NUL and other control characters in
    an encoded word, undecodable bytes) replaced (`hub.lib.text.storable`): the message is still logged."""
    try:
        return storable(str(message.get(name, "") or ""))
    except Exception:  # noqa: BLE001 - a malformed header is as good as none
        return ""


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):
        payload = part.get_payload(decode=True)  # bytes: the body part is never multipart
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if part.get_content_type() == "text/html":
        return html_to_text(content)
    return content


def _attachments(message: EmailMessage) -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    for part in message.iter_attachments():
        name = part.get_filename()
        data = part.get_payload(decode=True)
        if name and isinstance(data, bytes) and data:
            found.append((storable(name), data))
    return found


def receive(raw: bytes, *, recipients: list[str] | None = None, envelope_from: str = "") -> Received:
    record = InboundEmail(envelope_from=storable(envelope_from)[:254], size=len(raw))

    def refuse(reason: str) -> Received:
        record.outcome = InboundEmail.Outcome.REFUSED
        record.reason = storable(reason)[:300]
        record.save()
        logger.warning("inbound email to %s refused: %s", record.recipient or recipients, reason)
        return Received(record)

    if len(raw) > settings.HUB_INBOUND_MAX_BYTES:
        return refuse(f"message of {len(raw)} bytes is over HUB_INBOUND_MAX_BYTES")
    message = BytesParser(policy=policy.default).parsebytes(raw)
    record.subject = _header(message, "Subject")[:300]
    record.message_id = _header(message, "Message-ID")[:300]
    record.header_from = parseaddr(_header(message, "From"))[1][:254]
    candidates = list(recipients or []) or [
        address for _name, address in getaddresses(
            [_header(message, h) for h in ("Delivered-To", "X-Original-To", "To", "Cc")])]
    addresses = [a for a in candidates if looks_like_reply_address(a)]
    if not addresses:
        record.recipient = storable(", ".join(candidates))[:254]
        return refuse("no reply address among the recipients")
    record.recipient = storable(addresses[0])[:254]
    try:
        token = parse_reply_address(addresses[0])
    except BadToken as exc:
        return refuse(str(exc))
    from hub.models import User
    from requests.models import FINAL_STATUSES, Ticket
    from requests.selectors import can_view_ticket

    user = User.objects.select_related("centre").filter(pk=token.user_id).first()
    ticket = Ticket.objects.filter(pk=token.ticket_id).first()
    record.user, record.ticket = user, ticket
    if user is None or ticket is None:
        return refuse("the token names no such person or request")
    if not user.email or record.header_from.lower() != user.email.lower():
        return refuse(f"From {record.header_from!r} is not the address of {user.username}")
    auto = _header(message, "Auto-Submitted").strip().lower()
    if (auto and auto != "no") or _header(message, "X-Autoreply") or _header(message, "X-Autorespond"):
        return refuse("automatic reply")
    if not user.is_active or not can_view_ticket(user, ticket):
        return refuse(f"{user.username} may not comment on this request")
    if ticket.status in FINAL_STATUSES:
        return refuse(f"the request is {ticket.status}")
    text = strip_reply(_body_text(message))
    files = _attachments(message)
    if not text and not files:
        return refuse("nothing above the quoted text")
    return _comment(record, user, ticket, text, files, refuse)


def _comment(record: InboundEmail, user, ticket, text: str, files: list[tuple[str, bytes]], refuse) -> Received:
    from django.utils import translation
    from django.utils.translation import gettext as _

    from hub.errors import HubError
    from requests.services import add_attachment, add_comment

    def attach(comment, name: str, data: bytes) -> str | None:
        """The problem with one attachment, or None; a refused one leaves nothing behind (savepoint)."""
        try:
            with transaction.atomic():
                add_attachment(ticket, by=user, upload=SimpleUploadedFile(name, data), comment_id=comment.pk)
        except HubError as exc:
            return f"{name}: {exc.render()}"
        return None

    # The stored text and the log are read by both centres and the admins: the hub's working language.
    with translation.override(settings.LANGUAGE_CODE):
        body = text or _("(attachments sent by email)")
        try:
            with transaction.atomic():  # the comment and its log row: both or neither
                comment = add_comment(ticket, by=user, body=body, internal=False)
                problems = [problem for name, data in files if (problem := attach(comment, name, data))]
                record.comment = comment
                record.outcome = InboundEmail.Outcome.COMMENTED
                record.reason = storable("; ".join(problems))[:300]
                record.save()
        except HubError as exc:
            record.comment = None
            return refuse(f"the comment was refused: {exc.render()}")
    logger.info("inbound email from %s became comment %s on %s", user.username, comment.pk, ticket.reference)
    return Received(record)
