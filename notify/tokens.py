"""Signed tokens carried by email: the reply address of a request and the one-click unsubscribe link.

A reply address has to survive mail servers: at most 64 characters before the `@`, and servers may
change its case. So the token is lower-case base-36 numbers and a truncated base-32 HMAC (80 bits;
a forger gets one guess per message, each logged), not a Django `signing` blob:

    hub+r-<ticket>-<person>-<day issued>-<hmac>@hub.example

The unsubscribe token goes in a URL only, so it is an ordinary `django.core.signing` value.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core import signing
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

_EPOCH = date(2020, 1, 1)
_REPLY_SALT = "notify.reply-address"
_UNSUBSCRIBE_SALT = "notify.unsubscribe"
_REPLY = re.compile(r"^(?P<local>[^+@\s]+)\+r-(?P<token>[0-9a-z]+-[0-9a-z]+-[0-9a-z]+-[a-z2-7]+)@(?P<domain>[^@\s]+)$",
                    re.IGNORECASE)


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _signature(payload: str) -> str:
    digest = salted_hmac(_REPLY_SALT, payload, algorithm="sha256").digest()
    return base64.b32encode(digest).decode().lower().rstrip("=")[:16]


def reply_base_address() -> tuple[str, str]:
    """(local part, domain) of the address replies go to: HUB_EMAIL_REPLY_ADDRESS, else the sender."""
    from email.utils import parseaddr

    address = parseaddr(settings.HUB_EMAIL_REPLY_ADDRESS or settings.DEFAULT_FROM_EMAIL)[1]
    local, _, domain = address.partition("@")
    return local or "hub", domain or "localhost"


def reply_address(*, ticket_id: int, user_id: int, today: date | None = None) -> str:
    day = ((today or timezone.localdate()) - _EPOCH).days
    payload = f"{_b36(ticket_id)}-{_b36(user_id)}-{_b36(day)}"
    local, domain = reply_base_address()
    return f"{local}+r-{payload}-{_signature(payload)}@{domain}"


@dataclass(frozen=True)
class ReplyToken:
    ticket_id: int
    user_id: int
    issued: date


class BadToken(ValueError):
    """The address is not a reply address, is forged, or has expired (the message says which)."""


def looks_like_reply_address(address: str) -> bool:
    return bool(_REPLY.match(address.strip()))


def parse_reply_address(address: str, today: date | None = None) -> ReplyToken:
    match = _REPLY.match(address.strip())
    if match is None:
        raise BadToken("not a reply address")
    ticket, user, day, signature = match["token"].lower().split("-")
    payload = f"{ticket}-{user}-{day}"
    if not constant_time_compare(_signature(payload), signature):
        raise BadToken("forged or damaged token")
    issued = date.fromordinal(_EPOCH.toordinal() + int(day, 36))
    age = ((today or timezone.localdate()) - issued).days
    if age > settings.HUB_EMAIL_REPLY_TOKEN_DAYS or age < -1:
        raise BadToken("expired token")
    return ReplyToken(ticket_id=int(ticket, 36), user_id=int(user, 36), issued=issued)


def unsubscribe_token(*, user_id: int, what: str) -> str:
    return signing.dumps({"u": user_id, "k": what}, salt=_UNSUBSCRIBE_SALT)


def read_unsubscribe_token(token: str) -> tuple[int, str]:
    """(user id, what) or BadToken."""
    try:
        data = signing.loads(token, salt=_UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        raise BadToken("forged or damaged token") from None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("k"), str):
        raise BadToken("forged or damaged token")
    return data["u"], data["k"]
