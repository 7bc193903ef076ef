"""Deactivating a user anywhere (the admin, a script) cuts off their live sockets; every new
database connection parses PostgreSQL timestamps in C (hub.lib.compiled_queries) and, on SQLite,
knows the append-only tables' guard function (hub.lib.erasing)."""

from django.db.backends.signals import connection_created
from django.db.models.signals import post_save
from django.dispatch import receiver

from hub.lib.compiled_queries import parse_timestamps_in_c
from hub.lib.erasing import define_sqlite_function
from hub.models import User
from hub.realtime.publisher import broadcast_control_on_commit


@receiver(post_save, sender=User)
def cut_off_deactivated_user(sender, instance: User, created: bool, **kwargs) -> None:
    if not created and not instance.is_active:
        broadcast_control_on_commit(instance.pk, "user_deactivated")


@receiver(connection_created)
def timestamps_parsed_in_c(sender, connection, **kwargs) -> None:
    parse_timestamps_in_c(connection)
    define_sqlite_function(connection)  # the append-only tables' guard (hub/lib/erasing.py)
