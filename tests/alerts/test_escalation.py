"""Escalation with a controlled clock: a high/critical alert a centre has not acknowledged within the
delay goes to that centre's managers (socket frame) and, by email, to its managers and security
officers (notify's outbox, sent by the worker), once per step, never before the delay."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from asgiref.sync import sync_to_async
from django.core import mail
from django.core.management import call_command

from alerts.models import AlertEvent, Escalation
from alerts.services import acknowledge_alert, change_alert_status, escalate_due_alerts
from notify.delivery import deliver_emails
from tests.alerts.conftest import listen, next_alert_frame, raise_as
from tests.factories import staff

pytestmark = pytest.mark.django_db(transaction=True)  # emails and frames leave only after commit

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def at(minutes: float, seconds: int = 0) -> datetime:
    return T0 + timedelta(minutes=minutes, seconds=seconds)


def escalated(done) -> list[tuple[str, int]]:
    return sorted((e.centre.code, e.step) for e in done)


def escalation_emails() -> list:
    """Send what the outbox holds (as the worker does) and return the escalation emails sent so far."""
    deliver_emails()
    return [m for m in mail.outbox if "chưa được xác nhận" in m.subject]


def test_a_critical_alert_escalates_after_five_minutes_once_per_step(cast):
    with time_machine.travel(T0, tick=False) as clock:
        alert = raise_as(cast.ht_security, severity="critical")
        acknowledge_alert(alert, by=cast.dn_security)  # DN took notice in time; QB did not

        clock.move_to(at(4, 59))
        assert escalate_due_alerts() == []
        assert escalation_emails() == []

        clock.move_to(at(5))
        assert escalated(escalate_due_alerts()) == [("QB", 1)]
        assert len(escalation_emails()) == 1
        email = escalation_emails()[0]
        assert email.to == ["qb.manager@example.vn"]
        assert email.subject == f"[Hub] Cảnh báo mức Nghiêm trọng #{alert.pk} chưa được xác nhận: {alert.title}"
        assert f"/alerts/{alert.pk}/" in email.body

        clock.move_to(at(9, 59))
        assert escalate_due_alerts() == []  # step 1 happened; step 2 is not due yet
        clock.move_to(at(10))
        assert escalated(escalate_due_alerts()) == [("QB", 2)]
        assert escalate_due_alerts() == []  # the same step never twice

        clock.move_to(at(60))
        assert escalated(escalate_due_alerts()) == [("QB", 3)]  # a late run catches up with one step
        clock.move_to(at(600))
        assert escalate_due_alerts() == []  # HUB_ESCALATE_MAX_STEPS (3) reached
    assert len(escalation_emails()) == 3
    assert list(Escalation.objects.values_list("centre__code", "step", "notified")) == [
        ("QB", 1, ["qb.manager"]), ("QB", 2, ["qb.manager"]), ("QB", 3, ["qb.manager"])]
    events = AlertEvent.objects.filter(alert=alert, kind="escalated").order_by("at")
    assert [(e.centre.code if e.centre else None, e.after, e.at) for e in events] == [
        ("QB", "step 1", at(5)), ("QB", "step 2", at(10)), ("QB", "step 3", at(60))]


def test_a_high_alert_waits_fifteen_minutes_by_default_and_the_delay_is_configurable(cast, settings):
    with time_machine.travel(T0, tick=False) as clock:
        alert = raise_as(cast.ht_security, severity="high")
        clock.move_to(at(14, 59))
        assert escalate_due_alerts() == []
        clock.move_to(at(15))
        assert escalated(escalate_due_alerts()) == [("DN", 1), ("QB", 1)]

        settings.HUB_ESCALATE_HIGH_MINUTES = 30
        clock.move_to(at(59, 59))
        assert escalate_due_alerts() == []  # step 2 now needs 2 × 30 minutes
        clock.move_to(at(60))
        assert escalated(escalate_due_alerts()) == [("DN", 2), ("QB", 2)]
    # DN's security officer hears of it too; QB has none.
    assert sorted(m.to[0] for m in escalation_emails()) == [
        "dn.manager@example.vn", "dn.manager@example.vn", "dn.security@example.vn", "dn.security@example.vn",
        "qb.manager@example.vn", "qb.manager@example.vn"]
    assert alert.escalations.count() == 4


@pytest.mark.parametrize("severity", ["low", "medium"])
def test_low_and_medium_alerts_never_escalate(cast, severity):
    with time_machine.travel(T0, tick=False) as clock:
        raise_as(cast.ht_security, severity=severity)
        clock.move_to(at(24 * 60))
        assert escalate_due_alerts() == []
    assert escalation_emails() == []


def test_closed_alerts_and_acknowledging_centres_stop_escalating(cast):
    with time_machine.travel(T0, tick=False) as clock:
        closed = raise_as(cast.ht_security, severity="critical", title="Đã xử lý")
        change_alert_status(closed, by=cast.ht_security, to="closed")
        open_alert = raise_as(cast.ht_security, severity="critical", title="Đang xử lý")
        clock.move_to(at(5))
        assert escalated(escalate_due_alerts()) == [("DN", 1), ("QB", 1)]
        assert all(e.alert_id == open_alert.pk for e in Escalation.objects.all())
        acknowledge_alert(open_alert, by=cast.qb_manager)
        clock.move_to(at(10))
        assert escalated(escalate_due_alerts()) == [("DN", 2)]


def test_red_alerts_escalate_only_to_the_named_centres(cast):
    with time_machine.travel(T0, tick=False) as clock:
        raise_as(cast.ht_security, severity="critical", tlp="red", shared_with=["QB"])
        clock.move_to(at(5))
        assert escalated(escalate_due_alerts()) == [("QB", 1)]


def test_the_detail_shows_how_far_each_centre_escalated(cast, api_client):
    with time_machine.travel(T0, tick=False) as clock:
        alert = raise_as(cast.ht_security, severity="critical")
        acknowledge_alert(alert, by=cast.dn_manager)
        clock.move_to(at(10))
        escalate_due_alerts()
    detail = api_client(cast.ht_manager).get(f"/api/v1/alerts/{alert.pk}").json()
    rows = {row["centre"]: row for row in detail["acknowledgements"]}
    assert rows["QB"]["status"] == "pending" and rows["QB"]["escalation_step"] == 2
    assert rows["DN"]["status"] == "acknowledged" and rows["DN"]["escalation_step"] == 0
    assert [h["event"] for h in detail["history"]] == ["raised", "acknowledged", "escalated"]


def test_run_worker_once_runs_one_escalation_pass(cast, capsys):
    with time_machine.travel(T0, tick=False) as clock:
        alert = raise_as(cast.ht_security, severity="critical", tlp="red", shared_with=["DN"])
        clock.move_to(at(5))
        call_command("run_worker", once=True)
    assert f"escalated alert {alert.pk} to DN (step 1): dn.manager" in capsys.readouterr().out
    assert Escalation.objects.get().centre.code == "DN"
    assert sorted(m.to[0] for m in escalation_emails()) == ["dn.manager@example.vn", "dn.security@example.vn"]


async def test_the_escalation_frame_reaches_the_pending_centres_managers_only(cast):
    manager = await listen(cast.qb_manager)
    engineer = await listen(cast.qb_engineer)
    other_manager = await listen(cast.dn_manager)
    try:
        alert = await sync_to_async(raise_as)(cast.ht_security, severity="critical")
        await sync_to_async(acknowledge_alert)(alert, by=cast.dn_manager)
        for socket in (manager, engineer, other_manager):
            assert (await next_alert_frame(socket))["event"] == "raised"
            assert (await next_alert_frame(socket))["event"] == "acknowledged"
        done = await sync_to_async(escalate_due_alerts)(now=alert.created_at + timedelta(minutes=5))
        assert escalated(done) == [("QB", 1)]
        frame = await next_alert_frame(manager)
        assert frame["event"] == "escalated" and frame["alert"]["id"] == alert.pk
        assert frame["escalation"] == {"centre": "QB", "step": 1, "at": frame["escalation"]["at"],
                                       "notified": ["qb.manager"]}
        # The next thing the others hear is a later public alert, not the escalation.
        public = await sync_to_async(raise_as)(cast.ht_security, severity="low", tlp="clear")
        for socket in (engineer, other_manager):
            assert (await next_alert_frame(socket))["alert"]["id"] == public.pk
    finally:
        for socket in (manager, engineer, other_manager):
            await socket.disconnect()


# --- the deputy step: someone who may read the alert now --------------------------------------------

def _rostered_deputy(cast):
    """HT's shift on duty now has ht.security2 as its deputy (with ht.security as the officer)."""
    from django.utils import timezone

    from duty.services import create_shift
    from hub.models import Centre

    deputy = staff("ht.security2", email="ht.security2@example.vn")
    now = timezone.now()
    create_shift(Centre.objects.get(code="HT"), by=cast.ht_manager, starts_at=now - timedelta(hours=1),
                 ends_at=now + timedelta(hours=23), officer="ht.security", deputy="ht.security2")
    return deputy


def _red_for_ht(cast):
    """A critical TLP:RED alert DN raises and shares with HT alone: HT is its pending centre."""
    return raise_as(cast.dn_security, severity="critical", tlp="red", shared_with=["HT"],
                    title="Chỉ DN và HT", description="bí mật")


async def _alert_frames(socket) -> list[dict]:
    frames = []
    while not await socket.receive_nothing(timeout=1):
        frame = await socket.receive_json_from()
        if frame.get("type") == "alert":
            frames.append(frame)
    return frames


async def test_a_deputy_who_moved_centre_is_passed_over_for_the_managers(cast):
    def setup():
        deputy = _rostered_deputy(cast)
        deputy.centre = cast.qb_manager.centre  # moved to QB after the roster was made
        deputy.save()
        return deputy

    deputy = await sync_to_async(setup)()
    sockets = [await listen(deputy), await listen(cast.ht_manager)]
    try:
        alert = await sync_to_async(_red_for_ht)(cast)
        assert (await next_alert_frame(sockets[1]))["event"] == "raised"
        done = await sync_to_async(escalate_due_alerts)(now=alert.created_at + timedelta(minutes=5))
        assert [(e.centre.code, e.step, e.notified) for e in done] == [("HT", 1, ["ht.manager"])]
        frame = await next_alert_frame(sockets[1])
        assert frame["event"] == "escalated" and frame["escalation"]["notified"] == ["ht.manager"]
        assert await _alert_frames(sockets[0]) == []  # not the alert, not its escalation
    finally:
        for socket in sockets:
            await socket.disconnect()
    entry = await sync_to_async(AlertEvent.objects.get)(alert=alert, kind="escalated")
    assert entry.data == {"step": 1, "to": "managers", "notified": ["ht.manager"]}


async def test_a_deputy_who_loses_the_right_after_being_chosen_is_stopped_at_delivery(cast, monkeypatch):
    """The frame carries the alert's audience, checked by the socket against the person as they are
    when it arrives: a move between choosing the deputy and delivering the frame is caught too."""
    from alerts import services

    deputy = await sync_to_async(_rostered_deputy)(cast)
    chosen = services.escalation_targets

    def choose_then_move(*args, **kwargs):
        to, people = chosen(*args, **kwargs)
        assert to == "deputy" and [p.username for p in people] == ["ht.security2"]
        moved = type(deputy).objects.get(pk=deputy.pk)
        moved.centre = cast.qb_manager.centre
        moved.save()  # announced to the person's sockets after its commit (before the frame's)
        return to, people

    monkeypatch.setattr(services, "escalation_targets", choose_then_move)
    socket = await listen(deputy)
    try:
        alert = await sync_to_async(_red_for_ht)(cast)
        assert (await next_alert_frame(socket))["event"] == "raised"  # still HT's then
        done = await sync_to_async(escalate_due_alerts)(now=alert.created_at + timedelta(minutes=5))
        assert [(e.centre.code, e.notified) for e in done] == [("HT", ["ht.security2"])]
        assert await _alert_frames(socket) == []
    finally:
        await socket.disconnect()
