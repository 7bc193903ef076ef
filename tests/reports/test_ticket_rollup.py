"""The monthly request rollup (reports.models.TicketMonth: made and first accepted per local month,
requesting and target centre, restricted or not) equals counting the rows after every kind of write
that changes what it counts — kept by the database's triggers in the write's own transaction
(reports/rollups.py) — and the yearly report's counts read from it are the numbers the rows give.
Runs on SQLite and PostgreSQL (each has its own triggers)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection, transaction

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
UTC = ZoneInfo("UTC")


def _raw() -> Counter:
    """The rollup's definition, counted from the rows."""
    from requests.models import Ticket
    from requests.selectors import PARTY_ONLY

    out: Counter = Counter()
    for created_at, accepted_at, requesting, target, tlp in Ticket.objects.values_list(
            "created_at", "accepted_at", "requesting_centre_id", "target_centre_id", "tlp"):
        for kind, moment in ((1, created_at), (2, accepted_at)):
            if moment is not None:
                month = moment.astimezone(TZ).date().replace(day=1)
                out[(kind, month, requesting, target or 0, tlp in PARTY_ONLY)] += 1
    return out


def _rollup() -> Counter:
    from reports.models import TicketMonth

    return Counter({(r.kind, r.month, r.requesting, r.target, r.restricted): r.n
                    for r in TicketMonth.objects.all() if r.n})


def _assert_equal(note: str) -> None:
    assert _rollup() == _raw(), note


@pytest.fixture
def people(make_user):
    return {code: make_user(f"{code.lower()}.engineer", code) for code in ("HT", "QB", "DN")}


def test_rollup_follows_every_kind_of_write(people):
    from requests import services
    from requests.models import Ticket

    with time_machine.travel(datetime(2025, 3, 31, 23, 50, tzinfo=TZ), tick=False):
        to_qb = services.create_ticket(by=people["HT"], title="Nhờ kiểm tra cấu hình", category="security",
                                       target_centre="QB")
        anyone = services.create_ticket(by=people["DN"], title="Xin tư vấn", category="consulting")
        red = services.create_ticket(by=people["HT"], title="Mã độc", category="security", target_centre="DN",
                                     tlp="red")
    _assert_equal("create_ticket: to a centre, to any centre, TLP:RED")
    assert sum(_rollup().values()) == 3

    with time_machine.travel(datetime(2025, 4, 1, 0, 10, tzinfo=TZ), tick=False):  # the next local month
        services.transition_ticket(to_qb, by=people["QB"], to="accepted")
        services.transition_ticket(anyone, by=people["QB"], to="accepted")  # QB becomes its target
    _assert_equal("accepted (an any-centre request's target set by the acceptance)")
    assert Ticket.objects.get(pk=anyone.pk).target_centre_id == people["QB"].centre_id

    # Changed by SQL: its marking (restricted or not), its creation across a local month's edge (16:59
    # UTC on 31 March is 23:59 in Hà Nội), its requesting centre, its acceptance cleared.
    Ticket.objects.filter(pk=red.pk).update(tlp="green")
    _assert_equal("TLP:RED → GREEN")
    Ticket.objects.filter(pk=to_qb.pk).update(created_at=datetime(2025, 3, 31, 16, 59, tzinfo=UTC))
    Ticket.objects.filter(pk=red.pk).update(created_at=datetime(2025, 3, 31, 17, 0, tzinfo=UTC))
    _assert_equal("created_at moved across the local month's edge")
    Ticket.objects.filter(pk=red.pk).update(requesting_centre=people["QB"].centre)
    Ticket.objects.filter(pk=anyone.pk).update(accepted_at=None, target_centre=None)
    _assert_equal("requesting centre changed, acceptance cleared")

    # A save() of every column that changes nothing counted changes nothing.
    before = _rollup()
    again = Ticket.objects.get(pk=to_qb.pk)
    again.title = "Nhờ kiểm tra lại cấu hình"
    again.save()
    assert _rollup() == before

    # A bulk load, some already accepted, then a hard delete (of requests without history: a request's
    # history is append-only).
    template = Ticket.objects.get(pk=to_qb.pk)
    bulk = []
    for i in range(6):
        created = datetime(2024, 12, 31, 20, tzinfo=TZ) + timedelta(hours=3 * i)
        bulk.append(Ticket(reference=f"BULK-{i}", title=f"Yêu cầu {i}", category="software", priority="normal",
                           requesting_centre=template.requesting_centre, requested_by=template.requested_by,
                           target_centre=None if i == 5 else template.target_centre, status="accepted",
                           tlp="amber+strict" if i % 2 else "amber", due_at=created + timedelta(days=5),
                           created_at=created, updated_at=created,
                           accepted_at=None if i == 5 else created + timedelta(hours=1)))
    Ticket.objects.bulk_create(bulk)
    _assert_equal("bulk insert")
    Ticket.objects.filter(reference__in=["BULK-0", "BULK-1", "BULK-5"]).delete()  # no history: deletable
    _assert_equal("hard delete")


def test_a_rolled_back_write_leaves_the_rollup_as_it_was(people):
    from requests import services

    services.create_ticket(by=people["HT"], title="Giữ lại", category="other", target_centre="QB")
    before = _rollup()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.create_ticket(by=people["HT"], title="Bỏ đi", category="other", target_centre="QB")
        raise RuntimeError
    assert _rollup() == before == _raw()


def test_rebuild_command_recomputes_from_the_rows_and_check_tells(people):
    from reports.models import TicketMonth
    from requests import services

    for i in range(3):
        services.create_ticket(by=people["DN"], title=f"Yêu cầu {i}", category="training", target_centre="HT")
    call_command("rebuild_report_rollups", "--check", verbosity=0)
    TicketMonth.objects.all().update(n=999)  # damaged by hand
    with pytest.raises(CommandError, match="request rollup differs"):
        call_command("rebuild_report_rollups", "--check", verbosity=0)
    call_command("rebuild_report_rollups", verbosity=0)
    _assert_equal("rebuilt")
    call_command("rebuild_report_rollups", "--check", verbosity=0)


def test_the_triggers_are_installed(db):
    """SQLite drops a table's triggers when a migration rebuilds it: a later migration of
    support_requests_ticket must install them again (reports.rollups.install_ticket_triggers)."""
    names = {"reports_ticket_month_ins", "reports_ticket_month_upd", "reports_ticket_month_del"}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'support_requests_ticket'::regclass")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                           "AND tbl_name = 'support_requests_ticket'")
        found = {row[0] for row in cursor.fetchall()}
    assert names <= found


def test_report_counts_from_the_rollup_equal_the_rows(network):
    """The report's made / received and accepted counts for whole local months (read from the rollup)
    are what counting the rows gives for the same period shifted by a second (counted from the rows),
    for every kind of viewer — a TLP:RED request of two other centres is not counted for a third."""
    from reports.selectors import accepted_counts, made_counts
    from requests.models import Ticket

    users = network.users
    t1 = network.tickets["T1"]
    Ticket.objects.filter(pk=t1.pk).update(tlp="red")  # HT → QB: counted for HT and QB people only
    start, end = datetime(2025, 1, 1, tzinfo=TZ), datetime(2026, 1, 1, tzinfo=TZ)
    seen = {}
    for name, viewer in (("qb", users["qb"]), ("ht", users["ht"]), ("admin", users["admin"]), ("hub", None),
                         ("dn", users["dn"]), ("na", users["na"])):
        rolled = (sorted(made_counts(viewer, start, end), key=str), accepted_counts(viewer, start, end))
        rows = (sorted(made_counts(viewer, start - timedelta(seconds=1), end), key=str),
                accepted_counts(viewer, start - timedelta(seconds=1), end))
        assert rolled == rows, name
        seen[name] = sum(n for _r, _t, n in rolled[0])
    assert seen["qb"] == seen["ht"] == seen["admin"] == seen["hub"] == 10
    assert seen["dn"] == seen["na"] == 9
