"""The events tests' cast: Đà Nẵng's manager organises; people of three centres register."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.frontend.conftest import browser, hub, hub_extra_env, sign_in  # noqa: F401  (the browser tests' fixtures)


@dataclass
class Cast:
    dn_manager: Any
    dn_security: Any
    hue_security: Any
    hue_engineer: Any
    ht_manager: Any
    admin: Any


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def cast(make_user) -> Cast:
    def person(username, centre, role, name):
        return make_user(username, centre=centre, role=role, email=f"{username}@example.vn", display_name=name)

    return Cast(
        dn_manager=person("dn.manager", "DN", "manager", "Võ Quản Lý"),
        dn_security=person("dn.security", "DN", "security_officer", "Hồ Trực"),
        hue_security=person("hue.security", "HUE", "security_officer", "Lê Huế"),
        hue_engineer=person("hue.engineer", "HUE", "engineer", "Ngô Kỹ Sư"),
        ht_manager=person("ht.manager", "HT", "manager", "Lê Văn Quản"),
        admin=person("admin", None, "hub_admin", "Quản trị"),
    )
