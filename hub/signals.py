"""Receivers that keep live sockets in step with people and sessions (hub/services.py), refuse text no
database or export can hold (hub/lib/text.py), and make every new database connection parse
PostgreSQL timestamps in C (hub.lib.compiled_queries) and, on SQLite, know the append-only tables'
guard function (hub.lib.erasing).

A change to a person saved any way is announced by `User.save` / `UserQuerySet.update` themselves
(hub/models.py); here: a person deleted, and a session ended — by logout, an admin, `end_sessions`,
a password change that flushed it — whatever deleted it."""

import functools
from pathlib import Path

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.signals import user_logged_out
from django.contrib.sessions.models import Session
from django.db.backends.signals import connection_created
from django.db.models import Model
from django.db.models.signals import post_delete, pre_save
from django.dispatch import receiver

from hub.lib.compiled_queries import parse_timestamps_in_c
from hub.lib.erasing import define_sqlite_function
from hub.lib.text import check_model_text
from hub.models import User
from hub.services import identity_changed, session_ended


@receiver(post_delete, sender=User)
def cut_off_deleted_user(sender, instance: User, **kwargs) -> None:
    identity_changed([instance.pk])


@receiver(post_delete, sender=Session)
def close_sockets_of_deleted_session(sender, instance: Session, **kwargs) -> None:
    """Logout (`session.flush()`), an admin deleting it, `end_sessions`: the sockets that session
    opened close with 4401 (issue 20, class 2). Expiry deletes nothing: sockets time out themselves."""
    try:
        data = instance.get_decoded()
    except Exception:  # undecodable (another SECRET_KEY): it authenticated nobody
        return
    session_ended(data.get(SESSION_KEY), session_key=instance.session_key)


@receiver(user_logged_out)
def close_sockets_of_logged_out_session(sender, request, user, **kwargs) -> None:
    """The same for session engines without a table (cache, signed cookies); with the database engine
    the deletion above also fires, and a second event for a closed socket costs nothing."""
    session = getattr(request, "session", None)
    if user is not None and session is not None and session.session_key:
        session_ended(user.pk, session_key=session.session_key)


@receiver(connection_created)
def timestamps_parsed_in_c(sender, connection, **kwargs) -> None:
    parse_timestamps_in_c(connection)
    define_sqlite_function(connection)  # the append-only tables' guard (hub/lib/erasing.py)


@receiver(pre_save)
def refuse_unstorable_text(sender, instance, raw: bool = False, **kwargs) -> None:
    """The safety net behind every service's own `clean_text` (hub/lib/text.py): no model of the hub
    stores a lone surrogate, NUL or a control character, however it is saved (issue 20, class 7).
    Fixtures (`raw`) and installed libraries' models (sessions, axes' records) are left alone."""
    if raw or not _is_ours(sender):
        return
    check_model_text(instance)


@functools.cache
def _is_ours(model: type[Model]) -> bool:
    """A model of one of the hub's own apps (any app in this repository, so new ones count too)."""
    app = model._meta.app_config
    if app is None:  # models outside any installed app (the migration recorder's)
        return False
    path = Path(app.path).resolve()
    return path.is_relative_to(settings.BASE_DIR) and "site-packages" not in path.parts
