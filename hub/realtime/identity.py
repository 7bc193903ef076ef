"""Who a socket's person is *now*: the one place a live socket re-reads its authorisation from
(issue 20, classes 1 and 2).

A socket was authorised at its handshake by a ticket (an API token behind it) or a session. Later,
on a control event (hub/services.py) or the periodic re-check, it asks here whether those still hold
and who the person now is — active, role, centre, superuser — and decides again from the answer.
A socket opened by a session — its cookie, or a ticket that session fetched, presented with the
cookie (hub/realtime/ws_auth.py) — lives no longer than that session: deleted (logout, an admin,
"sign out everywhere"), expired, or no longer matching the person's password (Django ends the
other sessions on a password change by exactly this check, `django.contrib.auth.get_user`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from hub import twofactor
from hub.models import IDENTITY_FIELDS, ApiToken, User, access_of


def session_store(session_key: str | None = None) -> SessionBase:
    """The configured engine's store (what `request.session` is), chosen by SESSION_ENGINE at run time."""
    store: type[SessionBase] = import_module(settings.SESSION_ENGINE).SessionStore
    return store(session_key)


def session_matches(data: dict[str, Any], user: User) -> bool:
    """Whether session `data` still signs in `user`: the same person, the password hash it was made
    with (Django's own check, with the fallback secrets), and two-step verification where required."""
    if str(data.get(SESSION_KEY)) != str(user.pk):
        return False
    stored = data.get(HASH_SESSION_KEY)
    if not stored:
        return False
    if not constant_time_compare(stored, user.get_session_auth_hash()) and not any(
            constant_time_compare(stored, fallback) for fallback in user.get_session_auth_fallback_hash()):
        return False
    return twofactor.session_verified(data, user)  # a second factor, where the person's role requires one


def session_state(session_key: str) -> tuple[dict[str, Any], datetime | None] | None:
    """A session's data and when it expires, or None when it is gone or expired. With a database
    engine the row's `expire_date` is the truth (the store's `get_expiry_date()` counts from *now*
    for sessions with a custom expiry); other engines answer through their store."""
    store = session_store(session_key)
    model = getattr(store, "get_model_class", None)
    if model is not None:
        row = model().objects.filter(session_key=session_key, expire_date__gt=timezone.now()).values_list(
            "session_data", "expire_date").first()
        return (store.decode(row[0]), row[1]) if row else None
    data = store.load()
    return (data, store.get_expiry_date()) if data else None


@dataclass
class Standing:
    """A socket's person as stored now, and until when its session (if any) lasts."""

    user: User
    session_expires: datetime | None = None


def current_standing(user_id: int, *, token_id: int | None = None, session_key: str | None = None
                     ) -> Standing | None:
    """The person as stored now (with their centre), or None when the socket's credentials no longer
    hold: deactivated or deleted, the API token behind its ticket revoked, its session gone, expired
    or made for an older password. Sync: call it from a worker thread."""
    user = User.objects.select_related("centre").filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    if token_id is not None and not ApiToken.objects.filter(pk=token_id, revoked_at__isnull=True).exists():
        return None
    if session_key is None:
        return Standing(user)
    return session_standing(user, session_key)


def session_standing(user: User, session_key: str) -> Standing | None:
    """`user` (as stored now) and until when the session `session_key` lasts, or None when that
    session is gone, expired or no longer signs them in (`session_matches`). Sync."""
    state = session_state(session_key)
    if state is None or not session_matches(state[0], user):
        return None
    return Standing(user, state[1])


ACCESS_DIGEST_SALT = "hub.realtime.identity.access_digest"


def access_digest(user: User) -> str:
    """A short fingerprint of what `user` may see (hub.models.ACCESS_FIELDS): a page carries the one it
    was rendered with (`hub_user`'s `access`) and its sockets send it back (`?access=`); a socket whose
    person's digest differs says `access.changed` at once — the rights changed between the page and
    the socket, or while the page was disconnected. Keyed with the SECRET_KEY (`salted_hmac`): it
    travels in WebSocket URLs that proxies may log, and a plain hash of so few possible values (a
    person's id, role, hub admin flag, centre) would be reversed by trying them all."""
    return salted_hmac(ACCESS_DIGEST_SALT, repr((user.pk, *access_of(user.identity()))),
                       algorithm="sha256").hexdigest()[:16]


def identities(user_ids: Iterable[int]) -> dict[int, tuple[Any, ...]]:
    """{user id: the stored values of IDENTITY_FIELDS} in one query; missing people are absent."""
    return {row[0]: tuple(row[1:]) for row in
            User.objects.filter(pk__in=set(user_ids)).values_list("pk", *IDENTITY_FIELDS)}


def live_tokens(token_ids: Iterable[int]) -> set[int]:
    return set(ApiToken.objects.filter(pk__in=set(token_ids), revoked_at__isnull=True).values_list("pk", flat=True))


def live_sessions(session_keys: Iterable[str]) -> dict[str, dict[str, Any]] | None:
    """{key: data} of the unexpired sessions among these, in one query — or None when the session
    engine keeps no table to ask (then each socket's own session is loaded on its own)."""
    keys = set(session_keys)
    store = session_store()
    model = getattr(store, "get_model_class", None)
    if model is None:
        return None
    rows = model().objects.filter(session_key__in=keys, expire_date__gt=timezone.now()).values_list(
        "session_key", "session_data")
    return {key: store.decode(data) for key, data in rows}
