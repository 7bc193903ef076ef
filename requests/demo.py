"""Demo support requests for `manage.py seed_demo --history`: a year of cooperation between centres.

The tickets are written directly (not through the services) because they are back-dated history:
nothing is broadcast "now" for a request of last spring, and each step of its workflow gets the time
it happened. Every ticket still follows the state machine (`requests.workflow.MOVES`) step by step,
gets its discussion thread and a complete event history, so dashboards and reports see realistic data.
Idempotent: a ticket is identified by (requesting centre, title) and created once.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from hub.lib.rendering import render_markdown
from hub.models import Centre, User
from requests import sla, workflow
from requests.models import PRIORITY_RANK, Comment, Status, Ticket, TicketEvent
from requests.selectors import fold
from requests.services import _ensure_thread, next_reference

# category → titles (Vietnamese, as the centres write them)
TITLES = {
    "security": [
        "Hỗ trợ rà soát lỗ hổng Cổng dịch vụ công trực tuyến",
        "Đề nghị phối hợp phân tích mẫu mã độc từ email công vụ",
        "Kiểm tra cấu hình tường lửa ứng dụng web (WAF)",
        "Hỗ trợ ứng cứu sự cố tấn công từ chối dịch vụ",
        "Chia sẻ quy trình giám sát an toàn thông tin (SOC)",
    ],
    "software": [
        "Chia sẻ mã nguồn phần mềm quản lý văn bản điều hành",
        "Hỗ trợ tích hợp hệ thống một cửa điện tử với LGSP",
        "Tư vấn kiến trúc ứng dụng di động Công dân số",
        "Đề nghị hỗ trợ nâng cấp cơ sở dữ liệu PostgreSQL",
    ],
    "training": [
        "Đề nghị cử giảng viên đào tạo chứng chỉ ứng dụng CNTT cơ bản",
        "Phối hợp tổ chức kỳ sát hạch chuẩn kỹ năng CNTT",
        "Chia sẻ ngân hàng câu hỏi thi theo Thông tư 03/2014/TT-BTTTT",
        "Tập huấn an toàn thông tin cho cán bộ cấp xã",
    ],
    "consulting": [
        "Tư vấn lập kế hoạch chuyển đổi số giai đoạn 2026–2030",
        "Góp ý hồ sơ thiết kế dự án trung tâm dữ liệu tỉnh",
        "Chia sẻ kinh nghiệm triển khai Trung tâm giám sát điều hành thông minh",
    ],
    "communications": [
        "Phối hợp truyền thông Ngày Chuyển đổi số quốc gia",
        "Chia sẻ ấn phẩm tuyên truyền kỹ năng số cho người dân",
    ],
    "events": [
        "Phối hợp tổ chức hội thảo hợp tác CNTT-TT khu vực Bắc Trung Bộ",
        "Đề nghị tham gia trưng bày sản phẩm tại Hội chợ công nghệ",
        "Chuẩn bị hội nghị sơ kết thỏa thuận hợp tác năm",
    ],
    "other": [
        "Xin ý kiến về quy chế phối hợp giữa các trung tâm",
        "Đề nghị cung cấp số liệu báo cáo hợp tác năm",
    ],
}

# final status → the moves that lead there from "new"
PATHS = {
    Status.NEW: [],
    Status.ACCEPTED: [Status.ACCEPTED],
    Status.IN_PROGRESS: [Status.ACCEPTED, Status.IN_PROGRESS],
    Status.WAITING_FOR_REQUESTER: [Status.ACCEPTED, Status.IN_PROGRESS, Status.WAITING_FOR_REQUESTER],
    Status.RESOLVED: [Status.ACCEPTED, Status.IN_PROGRESS, Status.RESOLVED],
    Status.CLOSED: [Status.ACCEPTED, Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED],
    Status.REJECTED: [Status.REJECTED],
    Status.REOPENED: [Status.ACCEPTED, Status.IN_PROGRESS, Status.RESOLVED, Status.REOPENED],
}
NOTES = {
    Status.REJECTED: "Nội dung đề nghị ngoài phạm vi thỏa thuận hợp tác; đề nghị liên hệ Sở TT&TT.",
    Status.WAITING_FOR_REQUESTER: "Đề nghị quý trung tâm cung cấp thêm nhật ký hệ thống và đầu mối liên hệ.",
    Status.RESOLVED: "Đã hoàn thành, gửi kèm biên bản.",
    Status.REOPENED: "Vấn đề vẫn tái diễn sau khi áp dụng giải pháp.",
    Status.CLOSED: "Xác nhận đã hoàn thành. Cảm ơn quý trung tâm!",
}
PUBLIC_COMMENTS = [
    "Chúng tôi đã tiếp nhận, sẽ phản hồi sớm.",
    "Gửi quý trung tâm tài liệu tham khảo kèm theo.",
    "Đề nghị hẹn lịch họp trực tuyến để trao đổi chi tiết.",
]
INTERNAL_COMMENTS = [
    "Nội bộ: giao anh Minh phụ trách, ưu tiên trong tuần.",
    "Nội bộ: cần xin ý kiến lãnh đạo trước khi trả lời.",
]
REQUESTERS = ["TH", "NA", "HT", "QB", "QT", "DN", "HUE", "QNA", "DNO"]
TARGETS = ["DN", "HUE", "HT", "NA", "TH", "QB", "QT", "HCM", "VNPT"]
COUNT = 110
RECENT_CYCLE = [Status.NEW, Status.ACCEPTED, Status.IN_PROGRESS, Status.WAITING_FOR_REQUESTER, Status.NEW,
                Status.RESOLVED, Status.IN_PROGRESS, Status.REOPENED, Status.ACCEPTED, Status.CLOSED,
                Status.REJECTED, Status.WAITING_FOR_REQUESTER]


def _plan(rng: random.Random) -> list[dict]:
    """A deterministic year of requests: who asked whom, what, when, and how far it got."""
    plans, seen, recent = [], set(), 0
    categories = list(TITLES)
    for i in range(COUNT):
        category = categories[i % len(categories)]
        title = TITLES[category][(i // len(categories)) % len(TITLES[category])]
        requester = REQUESTERS[i % len(REQUESTERS)]
        if (requester, title) in seen:
            continue
        seen.add((requester, title))
        target = None if i % 11 == 0 else rng.choice([c for c in TARGETS if c != requester])
        days_ago = max(1, int(360 * (COUNT - i) / COUNT) + rng.randint(-3, 3))
        if days_ago > 60:
            final = rng.choice([Status.CLOSED] * 6 + [Status.REJECTED, Status.RESOLVED, Status.IN_PROGRESS])
        else:  # recent work is still moving: every status in turn, mostly open ones
            final = RECENT_CYCLE[recent % len(RECENT_CYCLE)]
            recent += 1
        plans.append({
            "requester": requester, "target": target, "category": category, "title": title,
            "priority": rng.choice(["low", "normal", "normal", "normal", "high", "high", "urgent"]),
            "days_ago": days_ago, "final": final,
        })
    return _service_levels(plans)


# Where the target centre still owes work: these requests are recent, so their SLA clocks are mostly
# in time (docs/tickets.md): a realistic mix, not a wall of overdue requests.
STILL_OPEN = frozenset({Status.NEW, Status.ACCEPTED, Status.IN_PROGRESS, Status.WAITING_FOR_REQUESTER,
                        Status.REOPENED})


def _service_levels(plans: list[dict]) -> list[dict]:
    """Open requests were made in the last few hours (their moves minutes apart), not urgent, so
    their clocks run in time or are paused (waiting for the requester) — except one urgent request in
    progress for twelve days: breached. Older requests are finished, with their year of history (met
    or late)."""
    for plan in plans:
        if plan["final"] in STILL_OPEN and plan["days_ago"] > 60:
            plan["final"] = Status.CLOSED  # months old: finished by now
    breached = False
    for n, plan in enumerate(p for p in plans if p["final"] in STILL_OPEN and p["days_ago"] <= 60):
        if not breached and plan["final"] == Status.IN_PROGRESS and plan["target"] is not None:
            plan.update(priority="urgent", days_ago=12, quick=True)
            breached = True
            continue
        plan.update(days_ago=0, minutes_ago=30 + (n * 37) % 170, quick=True,
                    priority="high" if plan["priority"] == "urgent" else plan["priority"])
    return plans


def _staff(code: str, suffix: str) -> User | None:
    return User.objects.filter(username=f"{code.lower()}.{suffix}").first()


def _open(plan: dict, requester: User, target_code: str | None, centres: dict[str, Centre], at) -> Ticket:
    """The ticket as it was created `at`, with its thread and its `created` event."""
    ticket = Ticket(
        reference=next_reference(centres[plan["requester"]], year=timezone.localtime(at).year),
        title=plan["title"], category=plan["category"], priority=plan["priority"],
        priority_rank=PRIORITY_RANK[plan["priority"]],
        description=f"{plan['title']}.\n\nĐầu mối: **{requester.get_display_name()}**.",
        requesting_centre=requester.centre, requested_by=requester,
        target_centre=centres.get(target_code) if target_code else None,
        created_at=at, updated_at=at,
    )
    sla.schedule(ticket)
    ticket.description_html = render_markdown(ticket.description)
    ticket.search_text = fold(f"{ticket.reference} {ticket.title} {ticket.description}")
    ticket.save()
    ticket.watchers.add(requester)
    _ensure_thread(ticket)
    TicketEvent.objects.create(ticket=ticket, actor=requester, kind=TicketEvent.Kind.CREATED, created_at=at,
                               after={"status": Status.NEW, "priority": ticket.priority,
                                      "category": ticket.category, "target_centre": target_code,
                                      "tlp": ticket.tlp})
    return ticket


def _comment(ticket: Ticket, actor: User, body: str, at, *, internal: bool = False) -> None:
    comment = Comment.objects.create(ticket=ticket, author=actor, body=body, html=render_markdown(body),
                                     internal=internal, created_at=at)
    TicketEvent.objects.create(ticket=ticket, actor=actor, kind=TicketEvent.Kind.COMMENT, internal=internal,
                               after={"comment": comment.pk}, created_at=at)


def _walk(ticket: Ticket, plan: dict, requester: User, target_staff: list[User], rng: random.Random, at, now) -> None:
    """Move the ticket along its path to `plan["final"]`, each move as the workflow makes it
    (`workflow.perform`: the same effects as `transition_ticket`), back-dated, with the replies the
    target centre writes when it accepts."""
    for to in PATHS[plan["final"]]:
        step = rng.randint(2, 60)  # hours apart; minutes for the requests still open (_service_levels)
        at = min(now - timedelta(minutes=5), at + (timedelta(minutes=step // 4) if plan.get("quick")
                                                   else timedelta(hours=step)))
        move = workflow.move_for(ticket.status, to)
        assert move is not None, (ticket.status, to)
        actor = requester if workflow.Party.REQUESTER in move.parties else rng.choice(target_staff)
        before = ticket.status
        done = workflow.perform(move, ticket, actor, at)
        TicketEvent.objects.create(ticket=ticket, actor=actor, kind=TicketEvent.Kind.TRANSITION, field="status",
                                   before=before, after=to, note=NOTES.get(to, ""), created_at=at)
        for kind, data in done.events:
            TicketEvent.objects.create(ticket=ticket, actor=actor, kind=kind, created_at=at, **data)
        if to == Status.ACCEPTED:
            _comment(ticket, actor, PUBLIC_COMMENTS[0], at)
            if rng.random() < 0.4:
                _comment(ticket, actor, rng.choice(INTERNAL_COMMENTS), at, internal=True)
        ticket.version += 1
        ticket.updated_at = at
    ticket.save()


def _answering_staff(plan: dict, rng: random.Random) -> list[User]:
    """The staff of the centre that answers: the one asked, or for an "any centre" request that got
    past `new`, the centre that took it first."""
    code = plan["target"]
    if code is None and plan["final"] != Status.NEW:
        code = rng.choice([c for c in TARGETS if c != plan["requester"]])
    if code is None:
        return []
    return [u for u in (_staff(code, s) for s in ("engineer", "security", "manager")) if u]


# The demo's request templates: (centre, name, category, priority, target, title, description, checklist).
TEMPLATES = [
    ("DN", "Đăng ký thi chứng chỉ", "training", "normal", "DN",
     "Đăng ký thi chứng chỉ ứng dụng CNTT cơ bản – {centre} – {date}",
     "Trung tâm {centre_name} đăng ký cho cán bộ dự thi chứng chỉ ứng dụng CNTT cơ bản theo "
     "Thông tư 03/2014/TT-BTTTT.\n\nĐầu mối: **{requester}**.\n\nSố thí sinh: …\nĐợt thi mong muốn: … năm {year}",
     ["Danh sách thí sinh (họ tên, ngày sinh, số CCCD)", "Ảnh 3×4 của từng thí sinh",
      "Xác nhận lệ phí thi", "Đợt thi và địa điểm mong muốn"]),
    ("HT", "Hỗ trợ ứng cứu sự cố", "security", "high", None,
     "Đề nghị hỗ trợ ứng cứu sự cố tại {centre}",
     "Mô tả sự cố: …\n\nHệ thống bị ảnh hưởng: …\n\nĐầu mối: **{requester}** ({date}).",
     ["Thời điểm phát hiện", "Nhật ký hệ thống liên quan", "Các biện pháp đã áp dụng"]),
]

# A duplicate pair for the merge: two centres ask DN about the same problem; DN merges QB's into HT's.
MERGE_SURVIVOR = ("HT", "Lỗi chứng thư số trên Cổng dịch vụ công", "DN")
MERGE_DUPLICATE = ("QB", "Cổng dịch vụ công báo lỗi chứng thư số hết hạn", "DN")


# Their markings and who uses them: Đà Nẵng's exam registration is for every centre to ask it (GREEN,
# shared); Hà Tĩnh's incident form is for its own staff (AMBER, the default, not shared).
TEMPLATE_MARKINGS = {"Đăng ký thi chứng chỉ": {"tlp": "green", "shared": True}}


def _seed_templates() -> None:
    from requests.models import TicketTemplate

    for code, name, category, priority, target, title, description, checklist in TEMPLATES:
        centre = Centre.objects.filter(code=code).first()
        manager = _staff(code, "manager")
        if centre is None or manager is None or TicketTemplate.objects.filter(centre=centre, name=name).exists():
            continue
        TicketTemplate.objects.create(centre=centre, name=name, category=category, priority=priority,
                                      target_centre=Centre.objects.filter(code=target).first() if target else None,
                                      title=title, description=description, checklist=checklist, created_by=manager,
                                      **TEMPLATE_MARKINGS.get(name, {}))


def _seed_merge(centres: dict[str, Centre], now) -> None:
    """One duplicate merged into the request it repeats, as `services.merge_ticket` records it
    (back-dated, like the rest of the history)."""
    if Ticket.objects.filter(status=Status.MERGED).exists():
        return
    people = {code: _staff(code, "engineer") for code in ("HT", "QB", "DN")}
    if any(p is None for p in people.values()) or not {"HT", "QB", "DN"} <= set(centres):
        return
    # This morning's duplicate (a few hours ago: the survivor's SLA clocks still run in time).
    at = now - timedelta(hours=4)
    tickets = []
    for requester_code, title, target in (MERGE_SURVIVOR, MERGE_DUPLICATE):
        plan = {"requester": requester_code, "title": title, "category": "security", "priority": "high",
                "target": target}
        requester = people[requester_code]
        assert requester is not None
        tickets.append(_open(plan, requester, target, centres, at))
        at += timedelta(hours=2)
    survivor, duplicate = tickets
    merger = people["DN"]
    assert merger is not None
    _comment(duplicate, duplicate.requested_by, "Người dân không nộp được hồ sơ từ sáng nay.", at)
    at += timedelta(hours=1)
    duplicate.status, duplicate.merged_into = Status.MERGED, survivor
    duplicate.version += 1
    duplicate.updated_at = at
    duplicate.save()
    TicketEvent.objects.create(ticket=duplicate, actor=merger, kind=TicketEvent.Kind.MERGED, field="status",
                               before=Status.NEW, created_at=at,
                               after={"status": Status.MERGED, "ticket": survivor.pk, "reference": survivor.reference})
    survivor.watchers.add(duplicate.requested_by)
    TicketEvent.objects.create(ticket=survivor, actor=merger, kind=TicketEvent.Kind.MERGED_FROM, field="merged_from",
                               created_at=at, after={"ticket": duplicate.pk, "reference": duplicate.reference,
                                                     "watchers": [duplicate.requested_by.username],
                                                     "watchers_left_out": []})
    survivor.version += 1
    survivor.updated_at = at
    survivor.save()


@transaction.atomic
def seed(stdout=None, history: bool = False, **kwargs) -> None:
    _seed_templates()
    if not history:
        return
    rng = random.Random(2022)  # the MOU's year: the same history every time
    now = timezone.now()
    existing = set(Ticket.objects.values_list("requesting_centre__code", "title"))
    centres = {c.code: c for c in Centre.objects.all()}
    created = 0
    for plan in _plan(rng):
        if (plan["requester"], plan["title"]) in existing or plan["requester"] not in centres:
            continue
        requester = _staff(plan["requester"], rng.choice(["engineer", "security", "manager"]))
        if requester is None:
            continue
        target_staff = _answering_staff(plan, rng)
        at = now - timedelta(days=plan["days_ago"], hours=rng.randint(0, 8))
        if "minutes_ago" in plan:
            at = now - timedelta(minutes=plan["minutes_ago"])
        ticket = _open(plan, requester, plan["target"], centres, at)
        _walk(ticket, plan, requester, target_staff, rng, at, now)
        created += 1
    _seed_merge(centres, now)
    if stdout is not None and created:
        stdout.write(f"Support requests: {created} demo tickets over the past year.")
