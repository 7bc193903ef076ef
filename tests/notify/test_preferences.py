"""Preferences live in the database and follow the person: role defaults, changes through the API with
clear 400s, quiet hours in working time with Vietnamese public holidays, and the notification list."""

from datetime import UTC, datetime, time

import pytest

from alerts.services import raise_alert
from notify.models import NotifySettings
from notify.preferences import quiet_until
from notify.services import expand_alert_notices
from tests.alerts.conftest import alert_payload

pytestmark = pytest.mark.django_db


def test_defaults_follow_the_role(cast, api_client):
    officer = api_client(cast.dn_security).get("/api/v1/notifications/preferences").json()
    engineer = api_client(cast.dn_engineer).get("/api/v1/notifications/preferences").json()
    manager = api_client(cast.dn_manager).get("/api/v1/notifications/preferences").json()
    assert officer["channels"]["alert_critical"] == "email" and officer["channels"]["alert_high"] == "email"
    assert engineer["channels"]["alert_critical"] == "browser" and engineer["channels"]["mention"] == "email"
    assert manager["channels"]["escalation"] == "email" and manager["digest"] == "off"
    assert officer["language"] == "vi" and officer["quiet_hours"] is True
    assert (officer["work_start"], officer["work_end"], officer["work_days"]) == ("07:30", "17:00", [0, 1, 2, 3, 4])
    assert officer["email"] == "dn.security@dn.example.vn"


def test_changes_are_stored_and_bad_input_changes_nothing(cast, api_client, make_user):
    from chat.services import create_topic

    create_topic(slug="su-kien-hoi-thao", name_vi="Sự kiện", name_en="Events")
    client = api_client(cast.dn_engineer)
    changed = client.put("/api/v1/notifications/preferences", {
        "language": "en", "digest": "weekly", "work_start": "08:00", "work_end": "16:30", "work_days": [0, 1, 2],
        "channels": {"alert_high": "email", "ticket": "digest"}, "topics": {"su-kien-hoi-thao": "mute"},
    }, content_type="application/json")
    assert changed.status_code == 200
    body = changed.json()
    assert (body["language"], body["digest"], body["work_start"], body["work_days"]) == ("en", "weekly", "08:00",
                                                                                        [0, 1, 2])
    assert body["channels"]["alert_high"] == "email" and body["channels"]["ticket"] == "digest"
    assert body["topics"] == {"su-kien-hoi-thao": "mute"}
    for bad, field in (({"channels": {"alert_critical": "digest"}}, "channels.alert_critical"),
                       ({"channels": {"nonsense": "email"}}, "channels.nonsense"),
                       ({"work_start": "25:00"}, "work_start"),
                       ({"work_start": "18:00", "work_end": "08:00"}, "work_end"),
                       ({"work_days": [7]}, "work_days"),
                       ({"topics": {"no-such-topic": "mute"}}, "topics.no-such-topic")):
        answer = client.put("/api/v1/notifications/preferences", bad, content_type="application/json")
        assert answer.status_code in (400, 404), bad
        assert answer.json()["error"]["fields"][0].startswith(field.split(".")[0]), answer.json()
    assert client.get("/api/v1/notifications/preferences").json() == body  # nothing half-changed
    # The refusal is in the caller's language (English here: the session's choice is not involved).
    detail = client.put("/api/v1/notifications/preferences", {"work_start": "x"},
                        content_type="application/json").json()["error"]["detail"]
    assert "07:30" in detail


@pytest.mark.parametrize(("when", "held_until"), [
    (datetime(2026, 6, 2, 2, 0, tzinfo=UTC), None),  # Tuesday 09:00: working
    (datetime(2026, 6, 2, 5, 0, tzinfo=UTC), datetime(2026, 6, 2, 6, 30, tzinfo=UTC)),  # 12:00: lunch until 13:30
    (datetime(2026, 6, 2, 11, 0, tzinfo=UTC), datetime(2026, 6, 3, 0, 30, tzinfo=UTC)),  # Tuesday 18:00
    (datetime(2026, 6, 5, 23, 0, tzinfo=UTC), datetime(2026, 6, 8, 0, 30, tzinfo=UTC)),  # Saturday 06:00 → Monday
    # Monday 31 August 2026 is off (worked on Saturday 22nd instead), 1 and 2 September are National Day.
    (datetime(2026, 8, 28, 11, 0, tzinfo=UTC), datetime(2026, 9, 3, 0, 30, tzinfo=UTC)),
])
def test_quiet_hours_follow_the_centre_s_working_time(cast, when, held_until):
    """By default a person's working hours are their centre's (worktime/: its week with the lunch
    break, Vietnam's public holidays, the government's make-up days)."""
    assert quiet_until(NotifySettings(user=cast.dn_security), when, centre=cast.dn_security.centre_id) == held_until


@pytest.mark.parametrize(("when", "held_until"), [
    (datetime(2026, 6, 2, 5, 0, tzinfo=UTC), None),  # 12:00 is inside 07:00-19:00
    (datetime(2026, 6, 2, 12, 30, tzinfo=UTC), datetime(2026, 6, 3, 0, 0, tzinfo=UTC)),  # 19:30 → 07:00
    (datetime(2026, 6, 6, 2, 0, tzinfo=UTC), None),  # Saturday is one of their days
    (datetime(2026, 8, 31, 11, 0, tzinfo=UTC), datetime(2026, 9, 3, 0, 0, tzinfo=UTC)),  # holidays off
])
def test_quiet_hours_follow_the_person_s_own_hours_when_they_set_them(cast, when, held_until):
    prefs = NotifySettings(user=cast.dn_security, own_hours=True, work_start=time(7), work_end=time(19),
                           work_days=[0, 1, 2, 3, 4, 5])
    assert quiet_until(prefs, when, centre=cast.dn_security.centre_id) == held_until


def test_no_quiet_hours_when_switched_off(cast):
    prefs = NotifySettings(user=cast.dn_security, quiet_hours=False, work_start=time(8), work_end=time(9))
    assert quiet_until(prefs, datetime(2026, 6, 6, 22, 0, tzinfo=UTC), centre=cast.dn_security.centre_id) is None


def test_the_notification_list_shows_only_what_the_person_may_still_read(cast, api_client):
    update = api_client(cast.dn_engineer).put("/api/v1/notifications/preferences",
                                              {"channels": {"alert_low": "browser"}}, content_type="application/json")
    assert update.status_code == 200
    raise_alert(by=cast.ht_security, **alert_payload(severity="low", title="Quét cổng"))
    expand_alert_notices()  # as the job `notify.alerts` does within seconds of the raise
    client = api_client(cast.dn_engineer)
    page = client.get("/api/v1/notifications").json()
    assert [n["text"] for n in page["results"]] == ["[Thấp] TLP:GREEN — Quét cổng"]
    assert page["unseen"] == 1 and page["results"][0]["url"].startswith("/alerts/")
    assert client.post("/api/v1/notifications/seen", {"all": True},
                       content_type="application/json").json() == {"marked": 1}
    assert client.get("/api/v1/notifications").json()["unseen"] == 0
