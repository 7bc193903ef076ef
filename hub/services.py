"""Domain actions on people, credentials and sessions that live sockets must hear about.

Whatever changes a person's standing — a token revoked, the person deactivated, moved to another
centre or role, their password changed, a session ended — is stored first, then a `control` event
goes to the person's control group, which every socket of that person (topic channels and the
notifications stream alike, on every process) has joined. Each socket then reloads the person and
decides again (hub/realtime/consumers.py): it re-joins the groups it may now see, or closes with
4401 (no longer signed in) / 4403 (no longer allowed here). A periodic re-check catches what the
event missed (the channel layer is best-effort, and a raw SQL write sends nothing).

The rule (issue 20, class 1): a change of identity made any way — `save()` (the admin, forms,
management commands, the API) or `QuerySet.update()` / `bulk_update()` — calls `identity_changed`
(hub/models.py); code that writes the user table some other way (raw SQL) must call it too, or
accept that sockets notice within HUB_WS_REVALIDATE_SECONDS.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import SESSION_KEY
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from hub.models import ApiToken, User
from hub.realtime.groups import topic_group
from hub.realtime.publisher import broadcast_control_on_commit, broadcast_group_control_on_commit

# Control actions (the `control` of a control event; hub/realtime/consumers.py acts on them).
IDENTITY_CHANGED = "identity_changed"
TOKEN_REVOKED = "token_revoked"
SESSION_ENDED = "session_ended"
ACCESS_CHANGED = "access_changed"  # who may read what a socket shows changed: it re-checks


def identity_changed(user_ids: Iterable[int]) -> None:
    """Tell every live socket of these people to decide again, once the current transaction commits."""
    for user_id in dict.fromkeys(user_ids):
        broadcast_control_on_commit(user_id, IDENTITY_CHANGED)


def topic_access_changed(slug: str) -> None:
    """Fewer people may read topic `slug` now (a support request's thread whose request moved to
    another centre, say): once the current transaction commits, every open socket of the topic holds
    what arrives, re-checks its person against the topic as stored then, and those that may no
    longer read it close with 4403 — before anything posted after the change reaches them."""
    broadcast_group_control_on_commit(topic_group(slug), ACCESS_CHANGED)


def revoke_tokens(tokens: QuerySet[ApiToken]) -> int:
    with transaction.atomic():
        revoked = list(tokens.filter(revoked_at__isnull=True).values_list("pk", "user_id"))
        ApiToken.objects.filter(pk__in=[pk for pk, _ in revoked]).update(revoked_at=timezone.now())
        for pk, user_id in revoked:
            broadcast_control_on_commit(user_id, TOKEN_REVOKED, token_id=pk)
    return len(revoked)


def deactivate_user(user: User) -> None:
    """The person may no longer sign in; their sockets close (4401) through `UserQuerySet.update`."""
    User.objects.filter(pk=user.pk).update(is_active=False)
    user.is_active = False


def session_digest(session_key: str) -> str:
    """How control events name a session: never the key itself, which is a credential."""
    import hashlib

    return hashlib.sha256(session_key.encode()).hexdigest()[:32]


def session_ended(user_id: int | str | None, *, session_key: str | None) -> None:
    """A session was deleted (logout, an admin, `end_sessions`): close the sockets it opened (4401)."""
    if user_id is None or not session_key:
        return
    try:
        user_id = int(user_id)
    except (TypeError, ValueError):
        return
    broadcast_control_on_commit(user_id, SESSION_ENDED, session=session_digest(session_key))


def end_sessions(user: User, *, keep: str | None = None) -> int:
    """Sign `user` out everywhere (but the session `keep`): their sessions are deleted, which closes
    the sockets they opened (hub/signals.py hears each deletion). Returns how many ended.

    Only for the database session engines (Django's default): the one place sessions can be listed."""
    from django.contrib.sessions.models import Session

    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        data = session.get_decoded()
        if str(data.get(SESSION_KEY)) == str(user.pk) and session.session_key != keep:
            session.delete()
            ended += 1
    return ended

