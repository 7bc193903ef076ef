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


# Control events travel over this many groups, a person's chosen by their id. A group per person
# meant one Redis subscription per connected person per process: a `SUBSCRIBE` (under the fan-out's
# lock) in every handshake and an `UNSUBSCRIBE` in every close, and ~0.9 KiB of subscription state
# (the fan-out's set, channels-redis' group and subscription entries) kept by every idle socket of a
# distinct person — the reconnect storm's and the memory target's (docs/benchmarks.md, "Control
# events over shared groups"). With a fixed number a process subscribes at most this many times, the
# first handshakes pay it and the rest join a group already there; a control event then reaches the
# sockets of the other people sharing the group, which ignore it (`HubConsumer._control` reads the
# event's `user`). Publishers and subscribers must agree on it across processes: a constant, not a
# setting.
CONTROL_GROUPS = 64


def control_group(user_id: int) -> str:
    """The group that carries `user_id`'s control events; every socket of theirs joins it, whatever
    its route (see hub/services.py). Shared with the people whose id has the same remainder."""
    return f"control.{user_id % CONTROL_GROUPS}"


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
