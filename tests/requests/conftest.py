"""People and tickets for the support-request tests: two centres that work together (HT asks, DN
answers) and one that has nothing to do with the ticket (QB)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import staff


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Each test makes several people; the production hasher's deliberate slowness is not under test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_working_calendars():
    """Calendars are cached per process (worktime.selectors); a test's exceptions roll back with its
    transaction without the signal that clears the cache, so no test sees another's."""
    from worktime.selectors import clear_cache

    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def people(db):
    """Named actors of every side of a ticket HT → DN (tests.factories.staff: the name says the centre
    and the role)."""

    class People:
        ht_engineer, ht_manager = staff("ht.engineer"), staff("ht.manager")
        dn_engineer, dn_security, dn_manager = staff("dn.engineer"), staff("dn.security"), staff("dn.manager")
        qb_engineer, qb_manager = staff("qb.engineer"), staff("qb.manager")
        admin = staff("admin", centre=None)

    return People


@pytest.fixture
def new_ticket(people):
    """`new_ticket(target="DN", by=people.ht_engineer, **fields)` → a ticket created through the service."""
    from requests.services import create_ticket

    def make(target: str | None = "DN", by=None, **fields):
        data: dict[str, Any] = {"title": "Hỗ trợ kiểm tra an toàn thông tin cổng dịch vụ công", "category": "security",
                "priority": "normal", "description": "Cần **rà soát** lỗ hổng."}
        data.update(fields)
        return create_ticket(by=by or people.ht_engineer, target_centre=target, **data)

    return make


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
