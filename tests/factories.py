"""factory_boy factories for the hub's people and places.

    staff("ht.security")           # Hà Tĩnh's security officer: centre HT, role security_officer
    staff("admin", centre=None)    # a hub admin outside any centre ("admin" is read as hub_admin)
    UserFactory(centre__code="DN", role="manager", display_name="Võ Quản Lý")
    TopicFactory(slug="an-toan-thong-tin", allowed_centres=["HT"])

Usernames follow the demo data's convention, `<centre code>.<role>` (CONTRACT.md), so `staff()` reads
the centre and the role from the name and a test's cast says who everyone is in one word each.
Every person's password is `pw-<username>` (the login tests sign in with it).
"""

from __future__ import annotations

from types import EllipsisType
from typing import Any

import factory
from factory.django import DjangoModelFactory

from chat.models import Topic
from hub.models import Centre, Role, User

# the role a username's suffix names (`ht.security2` is a second security officer)
SUFFIX_ROLES = {
    "engineer": Role.ENGINEER, "eng": Role.ENGINEER, "security": Role.SECURITY_OFFICER,
    "sec": Role.SECURITY_OFFICER, "manager": Role.MANAGER, "admin": Role.HUB_ADMIN,
}


class CentreFactory(DjangoModelFactory[Centre]):
    """A centre by code, made once (the same code gives the same centre)."""

    class Meta:
        model = Centre
        django_get_or_create = ("code",)

    code = "HT"
    name_vi = factory.LazyAttribute(lambda centre: f"Trung tâm {centre.code}")
    name_en = factory.LazyAttribute(lambda centre: f"Centre {centre.code}")


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"person{n}")
    centre = factory.SubFactory(CentreFactory)
    role = Role.ENGINEER

    password = factory.PostGeneration(lambda user, create, extracted, **kwargs: _set_password(user, create, extracted))


def _set_password(user: User, create: bool, extracted: str | None) -> None:
    user.set_password(extracted or f"pw-{user.username}")
    if create:
        user.save(update_fields=["password"])


def role_of(username: str) -> str:
    suffix = username.rpartition(".")[2].rstrip("0123456789")
    return SUFFIX_ROLES.get(suffix, Role.ENGINEER)


def staff(username: str, *, centre: str | None | EllipsisType = ..., **extra: Any) -> User:
    """The person `username` (`ht.security`: HT's security officer), made now. `centre` overrides
    the code the name gives (None: no centre); `extra` any other field (`role=`, `email=` …)."""
    code = username.partition(".")[0].upper() if isinstance(centre, EllipsisType) else centre
    extra.setdefault("role", role_of(username))
    return UserFactory.create(username=username, centre=CentreFactory.create(code=code) if code else None, **extra)


class TopicFactory(DjangoModelFactory[Topic]):
    """A topic channel, made through `chat.services.create_topic` (its rules checked, idempotent)."""

    class Meta:
        model = Topic

    slug = factory.Sequence(lambda n: f"chu-de-{n}")
    name_vi = factory.LazyAttribute(lambda topic: f"Chủ đề {topic.slug}")
    name_en = factory.LazyAttribute(lambda topic: f"Topic {topic.slug}")

    @classmethod
    def _create(cls, model_class: type[Topic], *args: Any, **kwargs: Any) -> Topic:
        from chat.services import create_topic

        return create_topic(**kwargs)
