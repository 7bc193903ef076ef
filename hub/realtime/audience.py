"""Who may see a thing: the one visibility vocabulary shared by messages, alerts and tickets.

An `Audience` is checked twice — by selectors when reading from the database, and by every socket
just before a frame leaves the process (`HubConsumer.may_receive`) — so a frame published to a broad
group still reaches only the people allowed to see it. `None` in a dimension means "no restriction".

Items whose audience is stored with them (messages, alerts) keep it in three denormalised text
columns (`audience_columns`), and `audience_q` is `Audience.allows` as a filter over those columns:
the same rule in SQL, held to `allows` by an exhaustive test (tests/hub/test_audience.py) rather than
restated per app. The TLP and sharing scope that produce an item's audience are `hub/sharing.py`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Q


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

    def narrowed_by(self, other: Audience) -> Audience:
        """Who both this audience and `other` admit: a reply under a root whose audience narrowed
        (chat.services.narrow_thread). Exact when neither names people (every channel message's
        and alert's audience: centres and roles); with named people never wider than either (a
        person named by one only is dropped). tests/hub/test_audience.py holds it to `allows`."""
        if other.centres is None and other.roles is None and other.users is None:
            return self
        if self.centres is None and self.roles is None and self.users is None:
            return other
        named = (self.users or frozenset()) & (other.users or frozenset())
        if _only_named(self) or _only_named(other):
            return Audience(users=named)
        return Audience(centres=_both(self.centres, other.centres), roles=_both(self.roles, other.roles),
                        users=named or None)

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


@dataclass(frozen=True)
class Lost:
    """Who could see a thing and no longer can: `before` admits them and `after` does not. The
    audience of the frames that take a thing off the screens of people whose right to it just ended
    (a message narrowed with its alert, an alert or a request whose marking tightened), so that what
    someone may no longer see leaves their open pages at once — and nobody who still may is told it
    went. Carried on channel-layer events as {"lost": {"before": …, "after": …}} (`reach_from_meta`)."""

    before: Audience
    after: Audience

    def allows(self, user: Any) -> bool:
        return self.before.allows(user) and not self.after.allows(user)

    def as_meta(self) -> dict[str, Any]:
        return {"lost": {"before": self.before.as_meta(), "after": self.after.as_meta()}}


# Who a frame reaches: an audience, or the people who lost one (`Lost`).
Reach = Audience | Lost


def reach_from_meta(meta: Mapping[str, Any] | None) -> Reach:
    """The `Reach` a channel-layer event carries (`Audience.as_meta()` or `Lost.as_meta()`)."""
    if meta and "lost" in meta:
        lost = meta["lost"]
        return Lost(before=Audience.from_meta(lost.get("before")), after=Audience.from_meta(lost.get("after")))
    return Audience.from_meta(meta)


def _only_named(audience: Audience) -> bool:
    return audience.users is not None and audience.centres is None and audience.roles is None


def _both(one: frozenset[Any] | None, other: frozenset[Any] | None) -> frozenset[Any] | None:
    """Two restrictions of one dimension at once (None: no restriction)."""
    if one is None:
        return other
    return one if other is None else one & other


def _frozen(values: list[Any] | None) -> frozenset[Any] | None:
    return frozenset(values) if values is not None else None


EVERYONE = Audience()


def _joined(values: Any) -> str | None:
    return None if values is None else "," + ",".join(str(v) for v in values) + ","


def audience_columns(meta: dict[str, list[Any] | None] | None) -> dict[str, str | None]:
    """`Audience.as_meta()` as the ",a,b," strings of the `<prefix>_centres/_roles/_users` columns:
    containment in them is a portable `LIKE`, where JSON containment is not (SQLite)."""
    meta = meta or {}
    return {"centres": _joined(meta.get("centres")), "roles": _joined(meta.get("roles")),
            "users": _joined(meta.get("users"))}


def store_audience(item: Any, audience: Audience | None, prefix: str = "audience") -> None:
    """Set an item's stored audience (`<prefix>` JSON and its three columns) to `audience`
    (None or EVERYONE: no restriction beyond the item's container)."""
    meta = audience.as_meta() if audience is not None else None
    setattr(item, prefix, meta or None)
    for name, value in audience_columns(meta).items():
        setattr(item, f"{prefix}_{name}", value)


def audience_q(user: Any, prefix: str = "audience") -> Q:
    """`Audience.allows(user)` as a filter over an item's stored audience columns (`<prefix>`:
    the JSON form, null for everyone; `<prefix>_centres`, `_roles`, `_users`)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Q(pk__in=[])
    if getattr(user, "is_hub_admin", False):
        return Q()

    def col(name: str, lookup: str, value: Any = True) -> Q:
        return Q(**{f"{prefix}_{name}__{lookup}": value})

    everyone = Q(**{f"{prefix}__isnull": True})
    named = col("users", "contains", f",{user.id},")
    centre_ok = col("centres", "isnull")
    centre = getattr(user, "centre", None) if getattr(user, "centre_id", None) is not None else None
    if centre is not None:
        centre_ok |= col("centres", "contains", f",{centre.code},")
    role_ok = col("roles", "isnull")
    for role in user.roles:
        role_ok |= col("roles", "contains", f",{role},")
    only_named = col("centres", "isnull") & col("roles", "isnull")
    return everyone | named | (centre_ok & role_ok & ~only_named)
