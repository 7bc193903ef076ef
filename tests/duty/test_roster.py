"""Duty rosters: who may keep them, what they refuse, and who is on duty at any moment."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from duty import services
from duty.models import Shift
from duty.selectors import State, duty_state, duty_states, on_duty
from hub.errors import HubError
from hub.models import Centre
from tests.duty.conftest import local
from tests.moments import CALENDAR_EDGES, refused_beyond_the_years

pytestmark = pytest.mark.django_db

MON = local(2026, 3, 2, 7, 30)


def add(cast, start=MON, hours=24, officer="ht.security", deputy="ht.security2", user=None, centre="HT"):
    return services.create_shift(Centre.objects.get(code=centre), by=user or cast.ht_manager,
                                 starts_at=start, ends_at=start + timedelta(hours=hours), officer=officer,
                                 deputy=deputy)


def test_on_duty_is_the_shift_covering_the_moment(cast):
    first = add(cast)
    second = add(cast, start=MON + timedelta(hours=24), officer="ht.security2", deputy="ht.security")
    assert on_duty("HT", MON - timedelta(minutes=1)) is None
    assert on_duty("HT", MON) == first
    assert on_duty(cast.ht_manager.centre, MON + timedelta(hours=23, minutes=59)) == first
    assert on_duty(cast.ht_manager.centre_id, MON + timedelta(hours=24)) == second
    assert on_duty("DN", MON) is None
    shift = on_duty("ht", MON)
    assert shift is not None and shift.deputy is not None
    assert shift.officer.username == "ht.security" and shift.deputy.username == "ht.security2"


def test_every_centres_state_in_one_call(cast):
    add(cast)
    states = {s.centre.code: s for s in duty_states(MON + timedelta(hours=1))}
    assert states["HT"].state == State.UNCONFIRMED and states["HT"].officer == cast.ht_security
    assert states["DN"].state == State.NOBODY and states["DN"].officer is None


def test_only_the_centres_managers_and_hub_admins_keep_its_roster(cast):
    for outsider in (cast.ht_security, cast.ht_engineer, cast.dn_manager):
        with pytest.raises(HubError) as refused:
            add(cast, user=outsider)
        assert refused.value.code == "forbidden"
    assert add(cast, user=cast.admin).officer == cast.ht_security


@pytest.mark.parametrize("officer,deputy,field", [
    ("ht.engineer", None, "officer"),  # an engineer does not stand security duty
    ("dn.security", None, "officer"),  # another centre's officer
    ("ht.security", "ht.security", "deputy"),  # the deputy is someone else
    ("nobody", None, "officer"),
    ("", None, "officer"),
])
def test_a_shift_needs_an_officer_and_deputy_of_the_centre(cast, officer, deputy, field):
    with pytest.raises(HubError) as refused:
        add(cast, officer=officer, deputy=deputy)
    assert refused.value.code == "invalid" and refused.value.fields == [field]
    assert not Shift.objects.exists()


@pytest.mark.parametrize(("query", "field"), [
    ("start=9999-12-30", "start"),  # the week after it is past the last date Python holds
    ("start=0001-01-01&end=0001-01-05", "start"),  # a local midnight of year 1 is before the first in UTC
    ("start=2026-03-02&end=3000-01-01", "end"),
])
@pytest.mark.parametrize("path", ["roster", "roster.ics"])
def test_a_roster_read_beyond_the_years_2000_to_2999_is_refused_in_vietnamese(cast, api_client, path, query, field):
    refused_beyond_the_years(api_client(cast.ht_manager), f"/api/v1/centres/HT/{path}?{query}", field)


def test_shifts_of_one_centre_never_overlap(cast):
    add(cast)
    with pytest.raises(HubError) as refused:
        add(cast, start=MON + timedelta(hours=12), officer="ht.security2", deputy=None)
    assert refused.value.code == "conflict"
    assert "Nguyễn Thị An" in refused.value.render()
    add(cast, start=MON + timedelta(hours=24), officer="ht.security2", deputy=None)  # back to back is fine
    add(cast, centre="DN", officer="dn.security", deputy=None, user=cast.dn_manager)  # another centre is fine
    assert Shift.objects.count() == 3


def test_times_must_make_sense(cast):
    with pytest.raises(HubError):
        add(cast, hours=0)
    with pytest.raises(HubError):
        add(cast, hours=24 * 8)


@pytest.mark.parametrize(("start", "end"), [
    *CALENDAR_EDGES, ("1999-12-31T08:00:00+07:00", "1999-12-31T20:00:00+07:00")])
def test_a_shift_outside_the_years_2000_to_2999_is_refused_in_vietnamese(cast, api_client, start, end):
    client = api_client(cast.ht_manager)
    client.raise_request_exception = False
    response = client.post("/api/v1/centres/HT/roster", {"starts_at": start, "ends_at": end, "officer": "ht.security"},
                           content_type="application/json", HTTP_ACCEPT_LANGUAGE="vi")
    assert response.status_code == 400, response.content
    assert response.json()["error"] == {"code": "invalid", "fields": ["starts_at"],
                                        "detail": "starts_at: một ngày trong khoảng năm 2000 đến 2999."}
    assert not Shift.objects.exists()


def test_changing_the_officer_clears_the_confirmation(cast):
    shift = add(cast)
    services.confirm_duty(by=cast.ht_security, at=MON + timedelta(minutes=5))
    services.update_shift(shift, by=cast.ht_manager, officer="ht.security2", deputy="ht.security")
    shift.refresh_from_db()
    assert shift.officer == cast.ht_security2 and shift.confirmed_at is None


def test_the_officer_confirms_and_later_calls_are_heartbeats(cast):
    add(cast)
    with time_machine.travel(MON - timedelta(minutes=31), tick=False):
        with pytest.raises(HubError):  # more than 30 minutes early
            services.confirm_duty(by=cast.ht_security)
    with time_machine.travel(MON + timedelta(minutes=3), tick=False):
        services.confirm_duty(by=cast.ht_security)
        assert duty_state(cast.ht_manager.centre).state == State.CONFIRMED
    with time_machine.travel(MON + timedelta(hours=2), tick=False):
        shift = services.confirm_duty(by=cast.ht_security)
    assert shift.confirmed_at == MON + timedelta(minutes=3)
    assert shift.last_seen_at == MON + timedelta(hours=2)


def test_only_the_officer_on_duty_confirms(cast):
    add(cast)
    with time_machine.travel(MON + timedelta(minutes=3), tick=False):
        for someone in (cast.ht_security2, cast.ht_manager, cast.dn_security):
            with pytest.raises(HubError) as refused:
                services.confirm_duty(by=someone)
            assert refused.value.code == "forbidden"
