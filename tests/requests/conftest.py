"""People and tickets for the support-request tests: two centres that work together (HT asks, DN
answers) and one that has nothing to do with the ticket (QB)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Each test makes several people; the production hasher's deliberate slowness is not under test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def people(make_user):
    """Named actors of every side of a ticket HT → DN."""

    class People:
        ht_engineer = make_user("ht.engineer", centre="HT", role="engineer")
        ht_manager = make_user("ht.manager", centre="HT", role="manager")
        dn_engineer = make_user("dn.engineer", centre="DN", role="engineer")
        dn_security = make_user("dn.security", centre="DN", role="security_officer")
        dn_manager = make_user("dn.manager", centre="DN", role="manager")
        qb_engineer = make_user("qb.engineer", centre="QB", role="engineer")
        qb_manager = make_user("qb.manager", centre="QB", role="manager")
        admin = make_user("admin", centre=None, role="hub_admin")

    return People


@pytest.fixture
def new_ticket(people):
    """`new_ticket(target="DN", by=people.ht_engineer, **fields)` → a ticket created through the service."""
    from requests.services import create_ticket

    def make(target: str | None = "DN", by=None, **fields):
        data = {"title": "Hỗ trợ kiểm tra an toàn thông tin cổng dịch vụ công", "category": "security",
                "priority": "normal", "description": "Cần **rà soát** lỗ hổng."}
        data.update(fields)
        return create_ticket(by=by or people.ht_engineer, target_centre=target, **data)

    return make


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
