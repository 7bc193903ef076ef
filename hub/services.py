"""Domain actions on people and credentials that live sockets must hear about.

Revoking a token or deactivating a user is stored first, then a `control` event goes to the user's
control group, which every socket of that user (topic channels and notifications alike, in every
process) has joined; the socket closes itself at once. A periodic re-check in `HubConsumer` catches
anything the event missed (the channel layer is best-effort).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from hub.models import ApiToken, User
from hub.realtime.publisher import broadcast_control_on_commit


def revoke_tokens(tokens: QuerySet[ApiToken]) -> int:
    with transaction.atomic():
        revoked = list(tokens.filter(revoked_at__isnull=True).values_list("pk", "user_id"))
        ApiToken.objects.filter(pk__in=[pk for pk, _ in revoked]).update(revoked_at=timezone.now())
        for pk, user_id in revoked:
            broadcast_control_on_commit(user_id, "token_revoked", token_id=pk)
    return len(revoked)


def deactivate_user(user: User) -> None:
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False)
        user.is_active = False
        broadcast_control_on_commit(user.pk, "user_deactivated")
