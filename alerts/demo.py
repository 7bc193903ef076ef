"""Demo alerts for `manage.py seed_demo --history`: a year of realistic incidents, some acknowledged.

Rows are written directly (not through `raise_alert`) because they are back-dated history: nothing is
broadcast and no summary is posted to the security topic "now" for an incident of last spring. Each
alert is created once, keyed by its title, so the command stays idempotent.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from alerts import indicators as indicator_rules
from alerts.models import Acknowledgement, Alert, AlertEvent, Escalation, Indicator, Status
from alerts.selectors import fold, recipient_centres
from hub.lib.rendering import render_markdown
from hub.models import Centre, Role, User

# days ago, raiser, severity, tlp, status, shared_with, title, description, systems, indicators, actions,
# centres that did NOT acknowledge (None: all acknowledged)
ALERTS = [
    dict(
        days=330, raiser="dn.security", severity="critical", tlp="amber", status="closed", shared_with=[],
        title="Khai thác lỗ hổng Confluence CVE-2023-22518 trên cổng thông tin nội bộ",
        description=(
            "Phát hiện truy cập bất thường tới `/json/setup-restore.action` trên máy chủ Confluence "
            "nội bộ, sau đó tạo tài khoản quản trị lạ.\n\n"
            "- Thời điểm: 02:14 sáng\n- Nguồn tấn công: 2 địa chỉ IP bên dưới"
        ),
        systems=["Confluence 7.19 (wiki nội bộ)"],
        indicators=[("cve", "CVE-2023-22518"), ("ipv4", "193.176.179.41"), ("ipv4", "193.149.185.23")],
        actions="1. Nâng cấp Confluence lên 7.19.16 trở lên.\n2. Chặn các IP trên tại tường lửa.\n"
                "3. Rà soát tài khoản quản trị được tạo gần đây.",
        pending=None,
    ),
    dict(
        days=250, raiser="hue.security", severity="high", tlp="green", status="closed", shared_with=[],
        title="Chiến dịch phishing giả mạo Cổng dịch vụ công",
        description="Email giả mạo thông báo hồ sơ dịch vụ công bị từ chối, dẫn tới trang đăng nhập giả.",
        systems=["Hệ thống thư điện tử công vụ"],
        indicators=[("domain", "dichvucong-gov[.]vn"), ("url", "hxxps://dichvucong-gov[.]vn/dang-nhap"),
                    ("email", "thongbao@dichvucong-gov.vn")],
        actions="Chặn tên miền trên DNS và mail gateway; nhắc cán bộ không đăng nhập qua liên kết trong email.",
        pending=None,
    ),
    dict(
        days=180, raiser="ht.security", severity="medium", tlp="clear", status="mitigated", shared_with=[],
        title="Mã độc đánh cắp thông tin lây lan qua USB",
        description="Một số máy trạm bộ phận một cửa nhiễm mã độc lây qua USB, đánh cắp mật khẩu trình duyệt.",
        systems=["Máy trạm bộ phận một cửa"],
        indicators=[("hash", "3f786850e387550fdab836ed7e6dc881de23001b"),
                    ("hash", "9e107d9d372bb6826bd81d3542a419d6")],
        actions="Tắt AutoRun, quét toàn bộ máy trạm bằng chữ ký mới, đổi mật khẩu đã lưu trên trình duyệt.",
        pending=["VNPT", "NIA"],
    ),
    dict(
        days=90, raiser="qb.security", severity="high", tlp="red", status="closed", shared_with=["QT", "HT"],
        title="Dò quét mật khẩu VPN SSL từ dải IP nước ngoài",
        description="Hơn 40.000 lần đăng nhập thất bại vào cổng VPN SSL trong 6 giờ, từ cùng một dải địa chỉ.",
        systems=["Cổng VPN SSL"],
        indicators=[("ipv4", "45.134.26.0/24"), ("ipv6", "2a0d:5600:24::1")],
        actions="Bật xác thực hai lớp cho VPN, giới hạn số lần đăng nhập sai, chặn dải IP.",
        pending=None,
    ),
    dict(
        days=20, raiser="na.security", severity="low", tlp="green", status="open", shared_with=[],
        title="Bản vá bảo mật Windows Server cho lỗ hổng TCP/IP IPv6",
        description="Microsoft phát hành bản vá cho lỗ hổng thực thi mã từ xa qua gói IPv6.",
        systems=["Windows Server 2019/2022"],
        indicators=[("cve", "CVE-2024-38063")],
        actions="Cài bản vá tháng; nếu chưa thể, tắt IPv6 trên các máy chủ không dùng đến.",
        pending=["QNA", "PY", "KT", "DLK", "DNO", "HCM", "VNPT", "NIA"],
    ),
    dict(
        days=2, raiser="dn.security", severity="high", tlp="amber", status="open", shared_with=[],
        title="Ransomware nhắm vào hệ thống một cửa điện tử",
        description="Biến thể LockBit 3.0 mã hóa máy chủ ứng dụng một cửa của một đơn vị ngoài khu vực. "
                    "Khả năng lây lan qua RDP mở ra Internet.",
        systems=["Hệ thống một cửa điện tử", "Máy chủ có RDP mở"],
        indicators=[("hash", "a" * 64), ("domain", "lockbit-decryptor.xyz")],
        actions="Đóng RDP ra Internet, kiểm tra sao lưu ngoại tuyến, cập nhật chữ ký EDR.",
        pending=["KT", "DNO"],
    ),
    dict(
        days=0, raiser="hue.security", severity="critical", tlp="amber", status="open", shared_with=[],
        title="Dò quét và đăng nhập SSH trái phép vào máy chủ camera giám sát đô thị",
        description="Trong hai giờ, hơn 2.000 lần đăng nhập SSH thất bại rồi một lần thành công vào máy chủ "
                    "lưu trữ camera của IOC; tài khoản mặc định của nhà cung cấp chưa đổi mật khẩu.",
        systems=["Máy chủ lưu trữ camera (IOC)", "Đầu ghi NVR"],
        indicators=[("ipv4", "185.220.101.34"), ("ipv4", "45.95.147.236")],
        actions="Đổi mật khẩu tài khoản mặc định trên đầu ghi và máy chủ camera, chặn hai địa chỉ IP, chỉ mở SSH "
                "từ mạng quản trị.",
        # three hours old: four centres have acknowledged, the others are being escalated
        pending=["DN", "QB", "QNA", "PY", "KT", "DLK", "DNO", "HCM", "VNPT", "NIA"],
    ),
]


def _user(username: str) -> User | None:
    return User.objects.select_related("centre").filter(username=username).first()


def _acknowledger(centre: Centre) -> User | None:
    return (User.objects.filter(centre=centre, role=Role.SECURITY_OFFICER, is_active=True).first()
            or User.objects.filter(centre=centre, role=Role.MANAGER, is_active=True).first())


@transaction.atomic
def _create(spec: dict, now) -> Alert | None:
    raiser = _user(spec["raiser"])
    if raiser is None or raiser.centre is None:
        return None
    created_at = now - timedelta(days=spec["days"], hours=3)
    cleaned = [indicator_rules.clean(t, v) for t, v in spec["indicators"]]
    alert = Alert.objects.create(
        title=spec["title"], severity=spec["severity"], tlp=spec["tlp"], status=spec["status"],
        description=spec["description"], description_html=render_markdown(spec["description"]),
        recommended_actions=spec["actions"], recommended_actions_html=render_markdown(spec["actions"]),
        affected_systems=spec["systems"], raised_by=raiser, centre=raiser.centre,
        search_text=fold("\n".join([spec["title"], spec["description"], " ".join(spec["systems"]), spec["actions"],
                                    raiser.centre.code, *[c.value for c in cleaned]])),
    )
    Alert.objects.filter(pk=alert.pk).update(created_at=created_at, updated_at=created_at)
    alert.created_at = created_at
    alert.shared_with.set(Centre.objects.filter(code__in=spec["shared_with"]))
    Indicator.objects.bulk_create(
        Indicator(alert=alert, position=i, type=c.type, value=c.value, algorithm=c.algorithm, created_at=created_at)
        for i, c in enumerate(cleaned)
    )
    AlertEvent.objects.create(alert=alert, kind=AlertEvent.Kind.RAISED, actor=raiser, centre=raiser.centre,
                              after=Status.OPEN, at=created_at)
    pending = set(spec["pending"] or [])
    for n, centre in enumerate(recipient_centres(alert)):
        if centre.code in pending:
            if spec["severity"] in ("high", "critical"):
                managers = [m.username for m in User.objects.filter(centre=centre, role=Role.MANAGER)]
                for step in (1, 2, 3):
                    at = created_at + timedelta(minutes=15 * step)
                    Escalation.objects.create(alert=alert, centre=centre, step=step, at=at, notified=managers)
                    AlertEvent.objects.create(alert=alert, kind=AlertEvent.Kind.ESCALATED, centre=centre,
                                              before="pending", after=f"step {step}", note=", ".join(managers),
                                              at=at)
            continue
        who = _acknowledger(centre)
        if who is None:
            continue
        at = created_at + timedelta(minutes=3 + 2 * n)
        Acknowledgement.objects.create(alert=alert, centre=centre, user=who, at=at)
        AlertEvent.objects.create(alert=alert, kind=AlertEvent.Kind.ACKNOWLEDGED, actor=who, centre=centre,
                                  before="pending", after="acknowledged", at=at)
    if spec["status"] != Status.OPEN:
        steps = [Status.MITIGATED, Status.CLOSED] if spec["status"] == Status.CLOSED else [Status.MITIGATED]
        before = Status.OPEN
        for i, status in enumerate(steps):
            at = created_at + timedelta(days=1 + i * 2)
            AlertEvent.objects.create(alert=alert, kind=AlertEvent.Kind.STATUS_CHANGED, actor=raiser,
                                      centre=raiser.centre, before=before, after=status, at=at,
                                      note="Đã xử lý xong tại các đơn vị." if status == Status.CLOSED else "")
            before = status
        Alert.objects.filter(pk=alert.pk).update(updated_at=at)
    return alert


def seed(stdout=None, history: bool = False, **options) -> None:
    """Nothing without `history`; with it, each demo alert once (found again by its title)."""
    if not history:
        return
    now = timezone.now()
    made = 0
    for spec in ALERTS:
        if Alert.objects.filter(title=spec["title"]).exists():
            continue
        if _create(spec, now) is not None:
            made += 1
    if stdout is not None and made:
        stdout.write(f"alerts: {made} demo alerts over the past year")
