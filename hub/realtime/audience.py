"""Who may see a thing: the one visibility vocabulary shared by messages, alerts and tickets.

An `Audience` is checked twice — by selectors when reading from the database, and by every socket
just before a frame leaves the process (`HubConsumer.may_receive`) — so a frame published to a broad
group still reaches only the people allowed to see it. `None` in a dimension means "no restriction".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Audience:
    centres: frozenset[str] | None = None  # centre codes
    roles: frozenset[str] | None = None  # Role values
    users: frozenset[int] | None = None  # user ids that may see it whatever their centre/role

    def allows(self, user: Any) -> bool:
        if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
            return False
        if self.centres is None and self.roles is None and self.users is None:
            return True  # everyone: the common case, checked on every socket for every frame
        if getattr(user, "is_hub_admin", False):
            return True
        if self.users is not None and user.id in self.users:
            return True
        if self.centres is not None:
            centre = getattr(user, "centre", None)
            if centre is None or centre.code not in self.centres:
                return False
        if self.roles is not None and not any(r in self.roles for r in user.roles):
            return False
        if self.users is not None and self.centres is None and self.roles is None:
            return False  # only the named users
        return True

    def as_meta(self) -> dict[str, list[Any] | None] | None:
        """A JSON-able form carried on channel-layer events; None means everyone."""
        if self.centres is None and self.roles is None and self.users is None:
            return None
        return {
            "centres": sorted(self.centres) if self.centres is not None else None,
            "roles": sorted(self.roles) if self.roles is not None else None,
            "users": sorted(self.users) if self.users is not None else None,
        }

    @classmethod
    def from_meta(cls, meta: Mapping[str, list[Any] | None] | None) -> Audience:
        if not meta:
            return EVERYONE
        return cls(
            centres=_frozen(meta.get("centres")),
            roles=_frozen(meta.get("roles")),
            users=_frozen(meta.get("users")),
        )


def _frozen(values: list[Any] | None) -> frozenset[Any] | None:
    return frozenset(values) if values is not None else None


EVERYONE = Audience()
