"""The MOU's centres and the demo people, as data (used by `manage.py seed_demo`)."""

from __future__ import annotations

import os

from django.db import transaction

from hub.models import Centre, Role, User

DEFAULT_DEMO_PASSWORD = "hub-demo-2026"

# (code, Vietnamese name, English name, province, kind, MOU signatory)
CENTRES = [
    ("TH", "Trung tâm CNTT-TT Thanh Hóa", "Thanh Hoa ICT Centre", "Thanh Hóa", "provincial", True),
    ("NA", "Trung tâm CNTT-TT Nghệ An", "Nghe An ICT Centre", "Nghệ An", "provincial", True),
    ("HT", "Trung tâm CNTT-TT Hà Tĩnh", "Ha Tinh ICT Centre", "Hà Tĩnh", "provincial", True),
    ("QB", "Trung tâm CNTT-TT Quảng Bình", "Quang Binh ICT Centre", "Quảng Bình", "provincial", True),
    ("QT", "Trung tâm CNTT-TT Quảng Trị", "Quang Tri ICT Centre", "Quảng Trị", "provincial", True),
    ("DN", "Trung tâm CNTT-TT Đà Nẵng", "Da Nang ICT Centre", "Đà Nẵng", "provincial", True),
    (
        "HUE", "Trung tâm Giám sát, điều hành đô thị thông minh Thừa Thiên Huế",
        "Thua Thien Hue Smart City Monitoring and Operations Centre", "Thừa Thiên Huế", "provincial", True,
    ),
    ("QNA", "Trung tâm CNTT-TT Quảng Nam", "Quang Nam ICT Centre", "Quảng Nam", "provincial", False),
    ("PY", "Trung tâm CNTT-TT Phú Yên", "Phu Yen ICT Centre", "Phú Yên", "provincial", False),
    ("KT", "Trung tâm CNTT-TT Kon Tum", "Kon Tum ICT Centre", "Kon Tum", "provincial", False),
    ("DLK", "Trung tâm CNTT-TT Đắk Lắk", "Dak Lak ICT Centre", "Đắk Lắk", "provincial", False),
    ("DNO", "Trung tâm CNTT-TT Đắk Nông", "Dak Nong ICT Centre", "Đắk Nông", "provincial", False),
    ("HCM", "Trung tâm CNTT-TT TP. Hồ Chí Minh", "Ho Chi Minh City ICT Centre", "TP. Hồ Chí Minh", "provincial", False),
    ("VNPT", "Tập đoàn Bưu chính Viễn thông Việt Nam (VNPT)", "VNPT", "", "partner", False),
    (
        "NIA", "Cơ quan Xã hội thông tin quốc gia Hàn Quốc (NIA)", "National Information Society Agency (Korea)",
        "", "partner", False,
    ),
]

ROLE_DISPLAY = {
    Role.ENGINEER: ("engineer", "Kỹ sư"),
    Role.SECURITY_OFFICER: ("security", "Cán bộ ATTT"),
    Role.MANAGER: ("manager", "Quản lý"),
}


def _placeholder_email(email: str) -> bool:
    """Demo people seeded before every user had a real-looking address get theirs (idempotent)."""
    return not email or email.endswith("@hub.invalid")


def demo_password() -> str:
    return os.environ.get("DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD


@transaction.atomic
def seed(stdout=None, **options) -> list[str]:
    """Create or update centres and demo users; returns the usernames. Safe to run repeatedly:
    existing rows are updated in place and passwords are only set on creation."""
    password = demo_password()
    usernames: list[str] = []
    for code, name_vi, name_en, province, kind, mou in CENTRES:
        centre, _ = Centre.objects.update_or_create(
            code=code,
            defaults={"name_vi": name_vi, "name_en": name_en, "province": province, "kind": kind,
                      "is_mou_member": mou},
        )
        for role, (suffix, label) in ROLE_DISPLAY.items():
            username = f"{code.lower()}.{suffix}"
            email = f"{username}@{code.lower()}.hub.example"  # ../shared/CONTRACT.md
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"centre": centre, "role": role, "display_name": f"{label} {code}", "email": email},
            )
            if created:
                user.set_password(password)
                user.save(update_fields=["password"])
            elif _placeholder_email(user.email):
                User.objects.filter(pk=user.pk).update(email=email)
            usernames.append(username)
    admin, created = User.objects.get_or_create(
        username="admin",
        defaults={"role": Role.HUB_ADMIN, "is_staff": True, "is_superuser": True,
                  "display_name": "Quản trị Hub", "email": "admin@hub.example"},
    )
    if created:
        admin.set_password(password)
        admin.save(update_fields=["password"])
    elif _placeholder_email(admin.email):
        User.objects.filter(pk=admin.pk).update(email="admin@hub.example")
    usernames.append("admin")
    return usernames
