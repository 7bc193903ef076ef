"""Group names, one place: a socket joins the groups of its identity (hub/realtime/notifications.py)
and its topic; services publish to them (hub/realtime/publisher.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.realtime.audience import Audience

ALL = "all"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def centre_group(code: str) -> str:
    return f"centre.{code}"


def role_group(role: str) -> str:
    return f"role.{role}"


def topic_group(slug: str) -> str:
    return f"topic.{slug}"


def control_group(user_id: int) -> str:
    """Every socket of a user joins this group, whatever its route (see hub/services.py)."""
    return f"control.{user_id}"


def is_control_group(group: str) -> bool:
    """A group of `control_group`: it carries control events only, never a frame a socket shows."""
    return group.startswith("control.")


def groups_for(audience: Audience | None) -> list[str]:
    """The narrowest groups whose sockets cover an `Audience` (hub.realtime.audience): its centres,
    else its roles, plus its named users, plus hub admins (who see everything); everyone → ALL.
    The audience itself is enforced on every socket anyway (HubConsumer.may_receive); narrow groups
    only spare processes events nobody there may see."""
    from hub.models import Role

    if audience is None or (audience.centres is None and audience.roles is None and audience.users is None):
        return [ALL]
    groups: list[str] = []
    if audience.centres is not None:
        groups += [centre_group(code) for code in sorted(audience.centres)]
    elif audience.roles is not None:
        groups += [role_group(role) for role in sorted(audience.roles)]
    groups += [user_group(pk) for pk in sorted(audience.users or ())]
    admins = role_group(Role.HUB_ADMIN)
    if admins not in groups:
        groups.append(admins)
    return groups
