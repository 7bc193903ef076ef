"""`seed_demo` creates the MOU's centres and people, prints them, and can run any number of times."""

from io import StringIO

import pytest
from django.core.management import call_command

from hub.models import Centre, User

CONTRACT_CODES = {"TH", "NA", "HT", "QB", "QT", "DN", "HUE", "QNA", "PY", "KT", "DLK", "DNO", "HCM", "VNPT", "NIA"}


def run_seed(**kwargs) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **kwargs)
    return out.getvalue()


@pytest.mark.django_db
def test_seed_creates_every_contract_centre_and_three_people_each():
    output = run_seed()
    assert set(Centre.objects.values_list("code", flat=True)) == CONTRACT_CODES
    assert Centre.objects.get(code="VNPT").kind == "partner"
    assert Centre.objects.get(code="HUE").name_vi.endswith("Thừa Thiên Huế")
    for code in CONTRACT_CODES:
        for suffix, role in [("engineer", "engineer"), ("security", "security_officer"), ("manager", "manager")]:
            user = User.objects.get(username=f"{code.lower()}.{suffix}")
            assert user.centre is not None and user.centre.code == code and user.role == role
            assert f"{code.lower()}.{suffix}" in output
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_hub_admin
    assert "Demo password: hub-demo-2026" in output


@pytest.mark.django_db
def test_seed_is_idempotent_and_keeps_changed_passwords():
    run_seed()
    user = User.objects.get(username="ht.engineer")
    user.set_password("changed-by-the-user")
    user.save()
    counts = (Centre.objects.count(), User.objects.count())
    run_seed()
    run_seed()
    assert (Centre.objects.count(), User.objects.count()) == counts
    assert User.objects.get(username="ht.engineer").check_password("changed-by-the-user")


@pytest.mark.django_db
def test_demo_password_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "mật-khẩu-thử")
    output = run_seed()
    assert "Demo password: mật-khẩu-thử" in output
    assert User.objects.get(username="dn.security").check_password("mật-khẩu-thử")
