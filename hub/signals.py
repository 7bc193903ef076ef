"""Deactivating a user anywhere (the admin, a script) cuts off their live sockets."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from hub.broadcast import broadcast_control_on_commit
from hub.models import User


@receiver(post_save, sender=User)
def cut_off_deactivated_user(sender, instance: User, created: bool, **kwargs) -> None:
    if not created and not instance.is_active:
        broadcast_control_on_commit(instance.pk, "user_deactivated")
