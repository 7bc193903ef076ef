"""`/ws/notifications/`: the caller's own stream of alerts, ticket changes and mentions.

The socket joins the groups of its owner's identity — the user, their centre, their role(s) and
everyone — and relies on `HubConsumer.may_receive` to apply each event's audience, so a frame sent
to a broad group still only reaches the people allowed to see it. Frame types: `alert`, `ticket`,
`mention` (see docs/frames.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.realtime.consumers import HubConsumer
from hub.realtime.frames import HelloFrame, PongFrame
from hub.realtime.groups import ALL, centre_group, control_group, role_group, user_group

if TYPE_CHECKING:
    from hub.models import User


def identity_groups(user: User) -> list[str]:
    groups = [ALL, user_group(user.id)]
    if user.centre is not None:
        groups.append(centre_group(user.centre.code))
    groups += [role_group(role) for role in user.roles]
    return groups


class NotificationsConsumer(HubConsumer):
    metrics_kind = "notifications"
    rate_limited_types = frozenset()

    async def connect(self) -> None:
        await self.accept()
        for group in identity_groups(self.user):
            await self.join(group)
        hello: HelloFrame = {"type": "hello", "user": self.user.username, "groups": len(self.groups_joined)}
        await self.send_json(hello)

    async def adopt(self, user: User) -> bool:
        """The person moved (another centre, role, superuser flag): the stream now listens to the
        groups of who they are, and `may_receive` decides with them (issue 20, class 1). A
        notifications stream is never refused: everyone signed in has one."""
        wanted = set(identity_groups(user)) | {control_group(user.id)}
        for group in sorted(self.groups_joined - wanted):
            await self.leave(group)
        for group in sorted(wanted - self.groups_joined):
            await self.join(group)
        return True

    async def handle_ping(self, frame: dict[str, Any]) -> None:
        pong: PongFrame = {"type": "pong"}
        await self.send_json(pong)
