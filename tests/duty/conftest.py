"""The duty tests' cast: Hà Tĩnh's manager keeps the roster; two security officers stand duty."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from django.utils import timezone

from tests.frontend.conftest import browser, hub, hub_extra_env, sign_in  # noqa: F401  (the browser tests' fixtures)

TZ = timezone.get_current_timezone()


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


@dataclass
class Cast:
    ht_manager: Any
    ht_security: Any
    ht_security2: Any
    ht_engineer: Any
    dn_manager: Any
    dn_security: Any
    admin: Any


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def cast(make_user) -> Cast:
    def person(username, centre, role, name):
        return make_user(username, centre=centre, role=role, email=f"{username}@example.vn", display_name=name)

    return Cast(
        ht_manager=person("ht.manager", "HT", "manager", "Lê Văn Quản"),
        ht_security=person("ht.security", "HT", "security_officer", "Nguyễn Thị An"),
        ht_security2=person("ht.security2", "HT", "security_officer", "Trần Văn Bình"),
        ht_engineer=person("ht.engineer", "HT", "engineer", "Phạm Kỹ Sư"),
        dn_manager=person("dn.manager", "DN", "manager", "Võ Quản Lý"),
        dn_security=person("dn.security", "DN", "security_officer", "Hồ Trực"),
        admin=person("admin", None, "hub_admin", "Quản trị"),
    )
