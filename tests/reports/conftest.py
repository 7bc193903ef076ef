"""A small network whose every figure is computed by hand in the tests (times in hours, local time
Asia/Ho_Chi_Minh). Tickets are written with the ORM so their history carries chosen timestamps.

Tickets (requesting → target, category, history; `due` far away unless marked overdue):
  T0  HT→QB software   2024-06-01 09:00, accepted +2h, resolved 2024-06-02 09:00 (24h), closed
  T1  HT→QB security   Mar 1 09:00, accepted +2h, resolved Mar 2 09:00 (24h), closed
  T2  HT→QB software   Mar 2 09:00, accepted +4h, resolved Mar 3 09:00, REOPENED Mar 4, resolved Mar 5 09:00 (72h)
  T3  QB→HT training   Mar 3 09:00, accepted +1h, in_progress, OVERDUE
  T4  DN→any consulting Mar 4 09:00, new
  T5  DN→any security  Mar 5 09:00, new, OVERDUE
  T6  QB→HT security   Mar 6 09:00, accepted +8h, resolved Mar 7 09:00, reopened Mar 8 (still reopened)
  T7  HT→DN events     Feb 20 09:00, accepted +3h, resolved Mar 10 09:00 (432h), closed
  T8  QB→HT other      Mar 10 09:00, new, OVERDUE
  T9  HT→QB software   Mar 11 09:00, rejected Mar 11 10:00
  T10 DN→any→HT consulting Mar 12 09:00, accepted by HT +6h
Alerts (raised → acknowledged):
  A1  HT green  Mar 1 08:00; QB +1h, DN +3h          (recipients QB, DN, NA)
  A2  QB amber  Mar 5 08:00; HT +2h                  (recipients HT, DN, NA)
  A3  DN red, shared with HT, Mar 6 08:00; HT +4h   (recipient HT; invisible to QB)
  A4  HT green  Feb 1 08:00; QB +1h                  (outside March)
Messages: see `network` below.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
FAR = datetime(2100, 1, 1, tzinfo=TZ)
PAST = datetime(2025, 3, 20, tzinfo=TZ)


def at(month: int, day: int, hour: int = 9, year: int = 2025) -> datetime:
    return datetime(year, month, day, hour, tzinfo=TZ)


@dataclass
class Network:
    users: dict
    tickets: dict
    alerts: dict
    topics: dict


@pytest.fixture
def network(db, make_user) -> Network:
    from alerts.models import Acknowledgement, Alert
    from chat.models import Message, Topic
    from hub.models import Centre
    from requests.models import Ticket, TicketEvent

    users = {
        "ht": make_user("ht.engineer", "HT"),
        "ht_sec": make_user("ht.security", "HT", "security_officer"),
        "qb": make_user("qb.engineer", "QB"),
        "dn": make_user("dn.engineer", "DN"),
        "na": make_user("na.engineer", "NA"),
        "ht_manager": make_user("ht.manager", "HT", "manager"),
        "qb_manager": make_user("qb.manager", "QB", "manager"),
        "admin": make_user("admin", None, "hub_admin"),
    }
    Centre.objects.filter(code="HT").update(name_vi="Trung tâm CNTT-TT Hà Tĩnh", name_en="Ha Tinh ICT Centre")
    Centre.objects.filter(code="QB").update(name_vi="Trung tâm CNTT Quảng Bình", name_en="Quang Binh IT Centre")
    centre = {c.code: c for c in Centre.objects.all()}
    by_centre = {"HT": users["ht"], "QB": users["qb"], "DN": users["dn"]}

    tickets = {}

    def ticket(name, req, target, category, created, history, status, overdue=False, accepted_by=None):
        t = Ticket.objects.create(
            reference=f"{req}-{created.year}-{name}", title=f"Yêu cầu {name} — hỗ trợ an toàn",
            category=category, requesting_centre=centre[req], requested_by=by_centre[req],
            target_centre=centre[target] if target else None, status=status,
            due_at=PAST if overdue else FAR, created_at=created, updated_at=created,
        )
        TicketEvent.objects.create(ticket=t, actor=by_centre[req], kind="created", created_at=created,
                                   after={"status": "new"})
        previous = "new"
        stamps: dict[str, datetime | None] = {}
        for to, when in history:
            TicketEvent.objects.create(ticket=t, actor=by_centre[accepted_by or target or req], kind="transition",
                                       field="status", before=previous, after=to, created_at=when)
            previous = to
            # What the workflow's moves stamp beside the history (requests.workflow, MOVES).
            if to == "accepted":
                stamps["accepted_at"] = when
            elif to == "resolved":
                stamps["resolved_at"] = when
            elif to == "reopened":
                stamps["resolved_at"] = None
        Ticket.objects.filter(pk=t.pk).update(**stamps)
        tickets[name] = t
        return t

    h = timedelta(hours=1)
    ticket("T0", "HT", "QB", "software", at(6, 1, year=2024),
           [("accepted", at(6, 1, 11, 2024)), ("in_progress", at(6, 1, 12, 2024)),
            ("resolved", at(6, 2, 9, 2024)), ("closed", at(6, 3, 9, 2024))], "closed")
    ticket("T1", "HT", "QB", "security", at(3, 1),
           [("accepted", at(3, 1) + 2 * h), ("in_progress", at(3, 1, 12)), ("resolved", at(3, 2)),
            ("closed", at(3, 3))], "closed")
    ticket("T2", "HT", "QB", "software", at(3, 2),
           [("accepted", at(3, 2) + 4 * h), ("in_progress", at(3, 2, 14)), ("resolved", at(3, 3)),
            ("reopened", at(3, 4)), ("in_progress", at(3, 4, 10)), ("resolved", at(3, 5))], "resolved")
    ticket("T3", "QB", "HT", "training", at(3, 3),
           [("accepted", at(3, 3) + h), ("in_progress", at(3, 3, 11))], "in_progress", overdue=True)
    ticket("T4", "DN", None, "consulting", at(3, 4), [], "new")
    ticket("T5", "DN", None, "security", at(3, 5), [], "new", overdue=True)
    ticket("T6", "QB", "HT", "security", at(3, 6),
           [("accepted", at(3, 6) + 8 * h), ("in_progress", at(3, 6, 18)), ("resolved", at(3, 7)),
            ("reopened", at(3, 8))], "reopened")
    ticket("T7", "HT", "DN", "events", at(2, 20),
           [("accepted", at(2, 20) + 3 * h), ("in_progress", at(2, 21)), ("resolved", at(3, 10)),
            ("closed", at(3, 11))], "closed")
    ticket("T8", "QB", "HT", "other", at(3, 10), [], "new", overdue=True)
    ticket("T9", "HT", "QB", "software", at(3, 11), [("rejected", at(3, 11, 10))], "rejected")
    ticket("T10", "DN", "HT", "consulting", at(3, 12), [("accepted", at(3, 12) + 6 * h)], "accepted",
           accepted_by="HT")

    alerts = {}

    def alert(name, centre_code, tlp, raised, acks, shared=()):
        a = Alert.objects.create(title=f"Cảnh báo {name}", severity="high", tlp=tlp, raised_by=by_centre[centre_code]
                                 if centre_code != "HT" else users["ht_sec"], centre=centre[centre_code])
        Alert.objects.filter(pk=a.pk).update(created_at=raised)
        for code in shared:
            a.shared_with.add(centre[code])
        for code, delay in acks:
            Acknowledgement.objects.create(alert=a, centre=centre[code], user=by_centre[code], at=raised + delay)
        alerts[name] = a

    alert("A1", "HT", "green", at(3, 1, 8), [("QB", h), ("DN", 3 * h)])
    alert("A2", "QB", "amber", at(3, 5, 8), [("HT", 2 * h)])
    alert("A3", "DN", "red", at(3, 6, 8), [("HT", 4 * h)], shared=["HT"])
    alert("A4", "HT", "green", at(2, 1, 8), [("QB", h)])

    security = Topic.objects.create(slug="an-toan-thong-tin", name_vi="An toàn thông tin",
                                    name_en="Information security")
    restricted = Topic.objects.create(slug="bi-mat", name_vi="Kênh bảo mật", name_en="Restricted channel",
                                      allowed_roles=["security_officer"])

    def message(topic, author, when, audience=None, deleted=False):
        m = Message(topic=topic, author=author, body="xin chào", html="<p>xin chào</p>")
        m.set_audience(audience)
        m.save()
        Message.objects.filter(pk=m.pk).update(created_at=when, deleted_at=when if deleted else None)

    message(security, users["ht"], at(3, 1))
    message(security, users["ht"], at(3, 2))
    message(security, users["qb"], at(3, 2))
    message(security, users["dn"], at(3, 3), deleted=True)
    message(security, users["ht"], at(3, 4), audience={"centres": ["HT"], "roles": None, "users": None})
    message(restricted, users["ht_sec"], at(3, 5))
    message(security, users["qb"], at(2, 5))
    return Network(users=users, tickets=tickets, alerts=alerts, topics={"security": security, "restricted": restricted})


@pytest.fixture
def march():
    from datetime import date

    from reports.selectors import DashboardFilters

    return DashboardFilters(start=date(2025, 3, 1), end=date(2025, 3, 31))


@pytest.fixture
def english():
    """Figures are checked with English labels; the Vietnamese rendering has its own tests."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(request, settings):
    """Eight users per test: the production hasher would make these tests slow for nothing. Not for
    browser tests: their server process must verify the passwords with its own hashers."""
    if request.node.get_closest_marker("browser") is None:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
