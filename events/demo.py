"""Demo events for `seed_demo`: a regional workshop next month (in a hotel, with registrations from
several centres and a link to the events topic) and an online training course the month after.
Each is created once, keyed by its title."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.utils import timezone

from events.models import Event, Registration
from hub.models import Centre, User


def _next_month(day: int, months: int = 1) -> datetime:
    today = timezone.localdate()
    first = today.replace(day=1)
    for _ in range(months):
        first = (first + timedelta(days=32)).replace(day=1)
    return datetime.combine(first.replace(day=day), time(8, 0), tzinfo=timezone.get_current_timezone())


def seed(stdout=None, history: bool = False, **kwargs) -> None:
    from chat.models import Topic

    topic = Topic.objects.filter(slug="su-kien-hoi-thao").first()
    plans: list[dict[str, Any]] = [
        dict(title="Hội thảo An toàn thông tin khu vực miền Trung – Tây Nguyên", kind=Event.Kind.WORKSHOP,
             organiser="DN", starts_at=_next_month(15), hours=9, place="Trung tâm Hành chính Đà Nẵng, 24 Trần Phú",
             online_url="", description="Chia sẻ kinh nghiệm ứng cứu sự cố và diễn tập thực chiến giữa các trung tâm.",
             attendees=["dn.security", "dn.manager", "hue.security", "ht.security", "qna.manager"]),
        dict(title="Khóa đào tạo trực tuyến: Điều tra số cơ bản", kind=Event.Kind.TRAINING,
             organiser="HUE", starts_at=_next_month(10, months=2), hours=4, place="",
             online_url="https://meet.example.vn/dieu-tra-so", description="Buổi 1/3, dành cho cán bộ ATTT.",
             attendees=["hue.security", "na.security"]),
    ]
    created = 0
    for plan in plans:
        centre = Centre.objects.filter(code=plan["organiser"]).first()
        if centre is None or Event.objects.filter(title=plan["title"]).exists():
            continue
        event = Event.objects.create(
            title=plan["title"], kind=plan["kind"], organiser=centre, starts_at=plan["starts_at"],
            ends_at=plan["starts_at"] + timedelta(hours=plan["hours"]), place=plan["place"],
            online_url=plan["online_url"], description=plan["description"], topic=topic,
            created_by=User.objects.filter(username=f"{plan['organiser'].lower()}.manager").first())
        for username in plan["attendees"]:
            person = User.objects.filter(username=username).first()
            if person is not None:
                Registration.objects.get_or_create(event=event, user=person, defaults={"centre": person.centre})
        created += 1
    if stdout is not None and created:
        stdout.write(f"events: {created} demo events")
