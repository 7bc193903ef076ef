"""The five seeded topics of the mission brief and, with history, a little realistic conversation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from chat.models import Message, Pin, Topic
from hub.models import User

TOPICS: list[dict[str, Any]] = [
    {
        "slug": "an-toan-thong-tin",
        "name_vi": "Sự cố an toàn thông tin",
        "name_en": "Information security incidents",
        "description": "Trao đổi, phối hợp xử lý sự cố an toàn thông tin giữa các trung tâm.",
        "description_en": "Sharing and coordinating the response to information security incidents.",
        "default_tlp": "amber",
        # Who keeps the incident's runbook pinned (issue 26 §3).
        "pin_roles": ["security_officer", "manager"],
    },
    {
        "slug": "phat-trien-phan-mem",
        "name_vi": "Phát triển phần mềm",
        "name_en": "Software development",
        "description": "Kinh nghiệm xây dựng, vận hành phần mềm và hỗ trợ lẫn nhau trong các dự án phần mềm.",
        "description_en": "Experience in building and running software, and mutual help on software projects.",
    },
    {
        "slug": "dao-tao-chung-chi",
        "name_vi": "Đào tạo, sát hạch và chứng chỉ",
        "name_en": "Training and certification",
        "description": "Đào tạo, sát hạch, cấp chứng chỉ kỹ năng sử dụng CNTT cơ bản (Thông tư 03/2014/TT-BTTTT).",
        "description_en": "Training, exams and certification of basic IT skills (Circular 03/2014/TT-BTTTT).",
    },
    {
        "slug": "tu-van-du-an",
        "name_vi": "Tư vấn dự án CNTT",
        "name_en": "ICT project consulting",
        "description": "Tư vấn, lập kế hoạch ngắn hạn và dài hạn, chia sẻ kinh nghiệm triển khai dự án CNTT.",
        "description_en": "Consulting, short- and long-term planning, and experience from ICT projects.",
    },
    {
        "slug": "su-kien-hoi-thao",
        "name_vi": "Sự kiện, hội thảo",
        "name_en": "Events and workshops",
        "description": "Phối hợp tổ chức sự kiện, hội thảo, trưng bày giới thiệu sản phẩm.",
        "description_en": "Co-organising events, workshops and product showcases.",
    },
]

# A few days of conversation, oldest first: (topic slug, author, body, minutes ago, extras). Extras:
# `reply_to` (the index of the thread's root in this list), `reactions` ([(username, emoji)]), `pin`
# (who pins it). A day of work spans 07:30-17:00; "minutes ago" keeps the order whatever the hour now.
DAY = 24 * 60
HISTORY: list[tuple[str, str, str, int, dict[str, Any]]] = [
    ("an-toan-thong-tin", "dn.security",
     "Phát hiện chiến dịch phishing giả mạo Cổng dịch vụ công, tên miền `dichvucong-gov[.]vn`. "
     "Các đơn vị kiểm tra log mail gateway giúp.", 4 * DAY + 120,
     {"reactions": [("hue.security", "👀"), ("ht.security", "👀"), ("na.security", "👍")]}),
    ("an-toan-thong-tin", "ht.security", "@dn.security Hà Tĩnh đã chặn tên miền trên DNS nội bộ, chưa thấy truy cập.",
     4 * DAY + 95, {"reply_to": 0}),
    ("an-toan-thong-tin", "hue.security",
     "Huế ghi nhận 3 email, đã cô lập. Đề nghị @QB và @QT rà soát thêm trong hôm nay.", 4 * DAY + 60,
     {"reply_to": 0, "reactions": [("dn.security", "🙏")]}),
    ("an-toan-thong-tin", "qb.security", "Quảng Bình đã rà soát: 1 email, người nhận chưa bấm liên kết.", 4 * DAY + 20,
     {"reply_to": 0}),
    ("an-toan-thong-tin", "dn.security",
     "**Quy trình xử lý email phishing** (áp dụng chung):\n\n1. Cô lập email trên mail gateway\n"
     "2. Chặn tên miền, địa chỉ IP trên DNS và tường lửa\n3. Báo cáo lên kênh này kèm chỉ dấu\n"
     "4. Nhắc cán bộ đổi mật khẩu nếu đã đăng nhập", 3 * DAY + 300,
     {"pin": "dn.security", "reactions": [("hue.security", "👍"), ("na.security", "👍"), ("qt.security", "👍")]}),
    ("an-toan-thong-tin", "na.security", "Nghệ An: đã cập nhật bản vá cho Exchange, không có dấu hiệu khai thác.",
     2 * DAY + 240, {}),
    ("an-toan-thong-tin", "dn.security",
     "Cảnh báo mới về ransomware nhắm vào hệ thống một cửa, chi tiết trong mục Cảnh báo. Các đơn vị xác nhận giúp.",
     2 * DAY + 30, {"reactions": [("hue.security", "✅"), ("ht.security", "✅")]}),
    ("an-toan-thong-tin", "ht.security", "Hà Tĩnh đã đóng RDP ra Internet trên toàn bộ máy chủ một cửa.",
     DAY + 200, {"reply_to": 6}),
    ("an-toan-thong-tin", "hue.security", "Huế kiểm tra sao lưu ngoại tuyến xong, khôi phục thử thành công.", 90,
     {"reply_to": 6, "reactions": [("dn.security", "🎉")]}),
    ("phat-trien-phan-mem", "th.engineer",
     "Có đơn vị nào đã tích hợp VNeID vào hệ thống một cửa điện tử chưa? Xin kinh nghiệm.", 3 * DAY + 240, {}),
    ("phat-trien-phan-mem", "dn.engineer",
     "Đà Nẵng đã tích hợp xong, dùng OpenID Connect. Tài liệu:\n\n1. Đăng ký client\n2. Cấu hình redirect URI\n"
     "3. Kiểm thử trên môi trường staging", 3 * DAY + 200, {"reply_to": 9, "reactions": [("th.engineer", "🙏")]}),
    ("phat-trien-phan-mem", "th.engineer", "Cảm ơn @dn.engineer, bên mình sẽ liên hệ để xin tài liệu chi tiết.",
     3 * DAY + 180, {"reply_to": 9}),
    ("phat-trien-phan-mem", "hue.engineer",
     "Huế chia sẻ bộ thư viện ký số dùng chung cho các ứng dụng nội bộ, ai cần thì nhắn mình.", DAY + 120,
     {"reactions": [("dn.engineer", "👍"), ("qt.engineer", "👍")]}),
    ("phat-trien-phan-mem", "qt.engineer", "Quảng Trị cần, mình nhắn riêng nhé.", DAY + 100, {}),
    ("dao-tao-chung-chi", "qb.manager",
     "Quảng Bình dự kiến tổ chức sát hạch chứng chỉ CNTT cơ bản đợt 2 vào tháng sau, mời các đơn vị cử giám khảo.",
     2 * DAY + 180, {"pin": "qb.manager"}),
    ("dao-tao-chung-chi", "qt.manager", "Quảng Trị cử 2 cán bộ tham gia, sẽ gửi danh sách trước ngày 15.",
     2 * DAY + 120, {"reply_to": 14}),
    ("dao-tao-chung-chi", "ht.manager", "Hà Tĩnh cử 1 giám khảo.", DAY + 300, {"reply_to": 14,
                                                                               "reactions": [("qb.manager", "👍")]}),
    ("tu-van-du-an", "na.engineer",
     "Xin ý kiến về mô hình trung tâm dữ liệu dùng chung cấp tỉnh: nên thuê dịch vụ hay đầu tư?", 3 * DAY + 60, {}),
    ("tu-van-du-an", "hue.manager",
     "Huế đang thuê dịch vụ cho IOC, chi phí vận hành ổn định hơn. Có thể chia sẻ hồ sơ tư vấn.", 2 * DAY + 400,
     {"reply_to": 17, "reactions": [("na.engineer", "🙏")]}),
    ("tu-van-du-an", "dn.manager", "Đà Nẵng đầu tư từ 2019; chi phí vận hành cao nhưng chủ động dữ liệu.",
     2 * DAY + 380, {"reply_to": 17}),
    ("su-kien-hoi-thao", "ht.manager",
     "Hội nghị sơ kết hợp tác năm nay tổ chức tại Hà Tĩnh, dự kiến cuối tháng. @HT sẽ gửi giấy mời.", 3 * DAY + 30, {}),
    ("su-kien-hoi-thao", "dn.manager", "Đà Nẵng đăng ký gian trưng bày sản phẩm chính quyền số.", 2 * DAY + 60,
     {"reactions": [("ht.manager", "👍")]}),
    ("su-kien-hoi-thao", "dn.security",
     "Hội thảo ATTT khu vực miền Trung – Tây Nguyên tháng sau tại Đà Nẵng: đăng ký trong mục Sự kiện.", 150,
     {"pin": "dn.security", "reactions": [("hue.security", "👍"), ("ht.security", "👍")]}),
]

# A direct conversation between two security officers (members only; docs/chat.md).
DIRECT = (["dn.security", "hue.security"], [
    ("hue.security", "Anh ơi, mẫu mã độc hôm trước bên anh phân tích xong chưa?", DAY + 180),
    ("dn.security", "Xong rồi, là biến thể LockBit 3.0. Chiều nay mình gửi báo cáo.", DAY + 170),
    ("hue.security", "Cảm ơn anh, em sẽ chia sẻ chỉ dấu cho các đơn vị.", DAY + 160),
    ("dn.security", "Đã gửi báo cáo qua yêu cầu hỗ trợ, em xem giúp.", 120),
])


def _seed_history() -> None:
    """The conversation above in the topics that have none yet (re-running never duplicates it), with
    its threads, reactions and pins; the direct conversation once."""
    from chat.services import post_message, set_pinned, start_conversation, toggle_reaction

    now = timezone.now()
    empty = {t.slug: t for t in Topic.objects.filter(slug__in=[s["slug"] for s in TOPICS], messages__isnull=True)}
    names = {author for _, author, _, _, _ in HISTORY} | set(DIRECT[0])
    names |= {who for *_, extras in HISTORY for who, _ in extras.get("reactions", [])}
    users = {u.username: u for u in User.objects.select_related("centre").filter(username__in=names)}
    posted: dict[int, Message] = {}
    for i, (slug, author, body, ago, extras) in enumerate(HISTORY):
        if slug not in empty or author not in users:
            continue
        root = posted.get(extras["reply_to"]) if "reply_to" in extras else None
        if "reply_to" in extras and root is None:
            continue
        message, _ = post_message(empty[slug], by=users[author], body=body, reply_to=root.pk if root else None)
        at = now - timedelta(minutes=ago)
        Message.objects.filter(pk=message.pk).update(created_at=at)
        if root is not None:
            Message.objects.filter(pk=root.pk).update(last_reply_at=at)
        posted[i] = message
        for who, emoji in extras.get("reactions", []):
            if who in users:
                toggle_reaction(message, by=users[who], emoji=emoji)
        if extras.get("pin") in users:
            set_pinned(message, by=users[extras["pin"]], pinned=True)
            Pin.objects.filter(message=message).update(pinned_at=at + timedelta(minutes=5))
    members, lines = DIRECT
    if all(m in users for m in members):
        topic, created = start_conversation(by=users[members[0]], members=members[1:])
        if created:
            for author, body, ago in lines:
                message, _ = post_message(topic, by=users[author], body=body)
                Message.objects.filter(pk=message.pk).update(created_at=now - timedelta(minutes=ago))


@transaction.atomic
def seed(stdout=None, history: bool = False, **options) -> None:
    """Create or update the seeded topics; with `history`, add the sample conversation to topics
    that have no messages yet (so re-running never duplicates it)."""
    for spec in TOPICS:
        Topic.objects.update_or_create(slug=spec["slug"], defaults={**spec, "kind": Topic.Kind.CHANNEL})
    if stdout is not None:
        stdout.write(f"Topics: {', '.join(s['slug'] for s in TOPICS)}")
    if history:
        _seed_history()
