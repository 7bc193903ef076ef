"""The five seeded topics of the mission brief and, with history, a little realistic conversation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from chat.models import Message, Topic
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

# (topic slug, author username, body) — oldest first.
HISTORY = [
    ("an-toan-thong-tin", "dn.security",
     "Phát hiện chiến dịch phishing giả mạo Cổng dịch vụ công, tên miền `dichvucong-gov[.]vn`. "
     "Các đơn vị kiểm tra log mail gateway giúp."),
    ("an-toan-thong-tin", "ht.security", "@dn.security Hà Tĩnh đã chặn tên miền trên DNS nội bộ, chưa thấy truy cập."),
    ("an-toan-thong-tin", "hue.security",
     "Huế ghi nhận 3 email, đã cô lập. Đề nghị @QB và @QT rà soát thêm trong hôm nay."),
    ("an-toan-thong-tin", "na.security", "Nghệ An: đã cập nhật bản vá cho Exchange, không có dấu hiệu khai thác."),
    ("phat-trien-phan-mem", "th.engineer",
     "Có đơn vị nào đã tích hợp VNeID vào hệ thống một cửa điện tử chưa? Xin kinh nghiệm."),
    ("phat-trien-phan-mem", "dn.engineer",
     "Đà Nẵng đã tích hợp xong, dùng OpenID Connect. Tài liệu:\n\n1. Đăng ký client\n2. Cấu hình redirect URI\n"
     "3. Kiểm thử trên môi trường staging"),
    ("phat-trien-phan-mem", "th.engineer", "Cảm ơn @dn.engineer, bên mình sẽ liên hệ để xin tài liệu chi tiết."),
    ("dao-tao-chung-chi", "qb.manager",
     "Quảng Bình dự kiến tổ chức sát hạch chứng chỉ CNTT cơ bản đợt 2 vào tháng 9, mời các đơn vị cử giám khảo."),
    ("dao-tao-chung-chi", "qt.manager", "Quảng Trị cử 2 cán bộ tham gia, sẽ gửi danh sách trước ngày 15."),
    ("tu-van-du-an", "na.engineer",
     "Xin ý kiến về mô hình trung tâm dữ liệu dùng chung cấp tỉnh: nên thuê dịch vụ hay đầu tư?"),
    ("tu-van-du-an", "hue.manager",
     "Huế đang thuê dịch vụ cho IOC, chi phí vận hành ổn định hơn. Có thể chia sẻ hồ sơ tư vấn."),
    ("su-kien-hoi-thao", "ht.manager",
     "Hội nghị sơ kết hợp tác năm nay tổ chức tại Hà Tĩnh, dự kiến cuối tháng 11. @HT sẽ gửi giấy mời."),
    ("su-kien-hoi-thao", "dn.manager", "Đà Nẵng đăng ký gian trưng bày sản phẩm chính quyền số."),
]


@transaction.atomic
def seed(stdout=None, history: bool = False, **options) -> None:
    """Create or update the seeded topics; with `history`, add the sample conversation to topics
    that have no messages yet (so re-running never duplicates it)."""
    for spec in TOPICS:
        Topic.objects.update_or_create(slug=spec["slug"], defaults={**spec, "kind": Topic.Kind.CHANNEL})
    if stdout is not None:
        stdout.write(f"Topics: {', '.join(s['slug'] for s in TOPICS)}")
    if not history:
        return
    from chat.services import post_message

    empty = {t.slug: t for t in Topic.objects.filter(slug__in=[s["slug"] for s in TOPICS], messages__isnull=True)}
    users = {u.username: u for u in User.objects.select_related("centre").filter(
        username__in={author for _, author, _ in HISTORY})}
    start = timezone.now() - timedelta(days=3)
    for i, (slug, author, body) in enumerate(HISTORY):
        if slug not in empty or author not in users:
            continue
        message, _ = post_message(empty[slug], by=users[author], body=body)
        Message.objects.filter(pk=message.pk).update(created_at=start + timedelta(hours=5 * i))
