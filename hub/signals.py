"""Deactivating a user anywhere (the admin, a script) cuts off their live sockets; every new
database connection parses PostgreSQL timestamps in C (hub.lib.compiled_queries)."""

import functools
from pathlib import Path

from django.conf import settings
from django.db.backends.signals import connection_created
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from hub.lib.compiled_queries import parse_timestamps_in_c
from hub.lib.text import check_model_text
from hub.models import User
from hub.realtime.publisher import broadcast_control_on_commit


@receiver(post_save, sender=User)
def cut_off_deactivated_user(sender, instance: User, created: bool, **kwargs) -> None:
    if not created and not instance.is_active:
        broadcast_control_on_commit(instance.pk, "user_deactivated")


@receiver(connection_created)
def timestamps_parsed_in_c(sender, connection, **kwargs) -> None:
    parse_timestamps_in_c(connection)


@receiver(pre_save)
def refuse_unstorable_text(sender, instance, raw: bool = False, **kwargs) -> None:
    """The safety net behind every service's own `clean_text` (hub/lib/text.py): no model of the hub
    stores a lone surrogate, NUL or a control character, however it is saved (issue 20, class 7).
    Fixtures (`raw`) and installed libraries' models (sessions, axes' records) are left alone."""
    if raw or not _is_ours(sender):
        return
    check_model_text(instance)


@functools.cache
def _is_ours(model: type) -> bool:
    """A model of one of the hub's own apps (any app in this repository, so new ones count too)."""
    app = model._meta.app_config
    if app is None:  # models outside any installed app (the migration recorder's)
        return False
    path = Path(app.path).resolve()
    return path.is_relative_to(settings.BASE_DIR) and "site-packages" not in path.parts
