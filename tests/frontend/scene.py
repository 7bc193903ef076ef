"""A small working week for the browser tests that walk every page (phone, keyboard, accessibility):
two centres' people, a topic with a conversation, a direct conversation, an alert waiting for Đà
Nẵng's acknowledgement, a request from Hà Tĩnh to Đà Nẵng with a comment, a request template, an
event next week and Đà Nẵng's duty shift. Built through the services, committed (the server process
reads the same database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

TOPIC_SLUG = "phat-trien-phan-mem"


@dataclass
class Scene:
    topic_slug: str
    direct_slug: str
    alert_id: int
    ticket_id: int
    year: int

    def pages(self) -> list[tuple[str, str]]:
        """(name, address) of every signed-in page a manager of Đà Nẵng reaches."""
        return [
            ("home", "/"),
            ("topic", f"/topics/{self.topic_slug}/"),
            ("direct", f"/topics/{self.direct_slug}/"),
            ("alerts", "/alerts/"),
            ("alert", f"/alerts/{self.alert_id}/"),
            ("tickets", "/tickets/"),
            ("ticket", f"/tickets/{self.ticket_id}/"),
            ("ticket-new", "/tickets/new/"),
            ("templates", "/tickets/templates/"),
            ("dashboard", "/dashboard/"),
            ("report", f"/reports/cooperation/{self.year}/"),
            ("duty", "/duty/"),
            ("events", "/events/"),
            ("search", "/search/?q=VNeID"),
            ("person", "/people/ht.sec/"),
            ("centre", "/centres/HT/"),
            ("notification-settings", "/settings/notifications/"),
            ("webhooks", "/settings/webhooks/"),
            ("security", "/accounts/security/"),
        ]


def build_scene(make_user) -> Scene:
    """The scene, for a test module's `scene` fixture: `return build_scene(make_user)`."""
    from django.utils import timezone

    from alerts.services import raise_alert
    from chat.services import create_topic, post_message, start_conversation
    from duty.services import create_shift
    from events.services import create_event
    from requests import services as tickets

    officer = make_user("ht.sec", centre="HT", role="security_officer", display_name="An (ATTT Hà Tĩnh)")
    engineer = make_user("ht.eng", centre="HT", display_name="Lan (Hà Tĩnh)")
    manager = make_user("dn.mgr", centre="DN", role="manager", display_name="Bình (Quản lý Đà Nẵng)")
    dn_engineer = make_user("dn.eng", centre="DN", display_name="Minh (Đà Nẵng)")
    topic = create_topic(slug=TOPIC_SLUG, name_vi="Phát triển phần mềm", name_en="Software development",
                         description="Trao đổi về phát triển phần mềm.")
    post_message(topic, by=engineer, body="Chào cả nhà, ai đã tích hợp **VNeID** chưa?")
    post_message(topic, by=dn_engineer, body="Đà Nẵng làm rồi, @ht.eng xem tài liệu:\n\n- bước 1\n- bước 2")
    direct, _ = start_conversation(by=manager, members=["ht.sec"])
    post_message(direct, by=officer, body="Anh Bình ơi, cảnh báo mới đã lên hub.")
    alert = raise_alert(by=officer, title="Mã độc mã hoá dữ liệu trên máy chủ cổng dịch vụ công",
                        severity="critical", tlp="clear", description="Một máy chủ bị **mã hoá**.",
                        indicators=[{"type": "ipv4", "value": "203.0.113.7"}],
                        affected_systems=["cổng dịch vụ công"], recommended_actions="Chặn địa chỉ IP.")
    ticket = tickets.create_ticket(by=officer, title="Hỗ trợ cấu hình tường lửa cho cổng dịch vụ công",
                                   category="security", priority="high", target_centre="DN",
                                   description="Cần hỗ trợ `iptables -A INPUT -s 203.0.113.0/24 -j DROP` gấp.")
    tickets.add_comment(ticket, by=officer, body="Máy chủ ở phòng máy tầng 2.")
    tickets.create_template(by=manager, name="Sự cố an toàn thông tin", title="Sự cố tại …", category="security")
    now = timezone.now()
    create_event(by=manager, title="Hội thảo ATTT miền Trung", starts_at=now + timedelta(days=7),
                 ends_at=now + timedelta(days=7, hours=8), place="Đà Nẵng")
    create_shift(manager.centre, by=manager, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=8),
                 officer="dn.mgr")
    return Scene(topic_slug=topic.slug, direct_slug=direct.slug, alert_id=alert.pk, ticket_id=ticket.pk,
                 year=timezone.localdate().year)
