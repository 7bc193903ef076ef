"""Who may see topics that are not plain channels, decided by the app that owns them.

`channel` topics carry their own role/centre restriction (see `chat.selectors.can_view_topic`). A
topic of another kind — a support request's discussion thread, say — belongs to another app, which
registers the rule here at start-up (in its `AppConfig.ready`). A kind nobody registered is denied:
failing closed is the only safe default for data we do not understand.

Each rule is stated once. An app may register it as a filter (`visible_q`, a Q over Topic: the
topics of the kind a user may see), and the single-topic check is then derived from it — the same
filter applied to that one topic — so a listing and a check can never disagree. An app that can
only say it per topic registers `check` alone (listings then ask it topic by topic). One that
registers both keeps two statements of its rule; tests/chat/test_access.py holds every such kind's
two forms to each other over every topic of the kind.
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
    # alone decides listings and search (one query instead of one `check` per topic).
    visible_q: Callable[[User], Q] | None = None


_registry: dict[str, TopicAccess] = {}


def _check_from(kind: str, visible_q: Callable[[User], Q]) -> Callable[[User, Topic], bool]:
    """The single-topic check a filter implies: the filter, applied to that topic alone."""

    def check(user: User, topic: Topic) -> bool:
        from chat.models import Topic

        return Topic.objects.filter(pk=topic.pk, kind=kind).filter(visible_q(user)).exists()

    return check


def register_topic_access(
    kind: str, check: Callable[[User, Topic], bool] | None = None, visible_q: Callable[[User], Q] | None = None
) -> None:
    """Declare who may see topics of `kind` (re-registering replaces the previous rule): a filter
    (`visible_q`, from which the check is derived), a per-topic `check`, or — kept in step by
    tests — both."""
    if check is None:
        if visible_q is None:
            raise ValueError("register_topic_access needs a check or a visible_q")
        check = _check_from(kind, visible_q)
    _registry[kind] = TopicAccess(check=check, visible_q=visible_q)


def unregister_topic_access(kind: str) -> None:
    _registry.pop(kind, None)


def access_for(kind: str) -> TopicAccess | None:
    return _registry.get(kind)
