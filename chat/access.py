"""Who may see topics that are not plain channels, decided by the app that owns them.

`channel` topics carry their own role/centre restriction (see `chat.selectors.can_view_topic`). A
topic of another kind — a support request's discussion thread, say — belongs to another app, which
registers the rule here at start-up (in its `AppConfig.ready`). A kind nobody registered is denied:
failing closed is the only safe default for data we do not understand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q

if TYPE_CHECKING:
    from chat.models import Topic
    from hub.models import User


@dataclass(frozen=True)
class TopicAccess:
    check: Callable[[User, Topic], bool]
    # Optional: a Q over Topic selecting the topics of this kind the user may see. When given, it
    # alone decides listings and search (one query instead of one `check` per topic), so it must
    # agree with `check`.
    visible_q: Callable[[User], Q] | None = None


_registry: dict[str, TopicAccess] = {}


def register_topic_access(
    kind: str, check: Callable[[User, Topic], bool], visible_q: Callable[[User], Q] | None = None
) -> None:
    """Declare who may see topics of `kind` (re-registering replaces the previous rule)."""
    _registry[kind] = TopicAccess(check=check, visible_q=visible_q)


def unregister_topic_access(kind: str) -> None:
    _registry.pop(kind, None)


def access_for(kind: str) -> TopicAccess | None:
    return _registry.get(kind)
