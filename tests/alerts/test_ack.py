"""Acknowledgement: one per recipient centre, by its security officers or managers; twice is harmless;
the detail shows the matrix and the history; status moves open → mitigated → closed."""

import pytest
from asgiref.sync import sync_to_async

from alerts.models import Acknowledgement, AlertEvent
from tests.alerts.conftest import listen, next_alert_frame, raise_as

pytestmark = pytest.mark.django_db


def ack(api_client, user, alert):
    return api_client(user).post(f"/api/v1/alerts/{alert.pk}/ack")


def matrix(api_client, user, alert):
    return {row["centre"]: row for row in api_client(user).get(f"/api/v1/alerts/{alert.pk}").json()["acknowledgements"]}


def test_the_matrix_lists_every_recipient_centre_pending_until_it_acknowledges(cast, api_client):
    alert = raise_as(cast.ht_security, tlp="amber")
    before = matrix(api_client, cast.ht_manager, alert)
    assert sorted(before) == ["DN", "QB"]  # every centre but the raising one (HT)
    assert all(row["status"] == "pending" and row["by"] is None and row["at"] is None for row in before.values())

    response = ack(api_client, cast.dn_manager, alert)
    assert response.status_code == 200, response.content
    assert response.json()["created"] is True

    after = matrix(api_client, cast.ht_manager, alert)
    assert after["DN"]["status"] == "acknowledged"
    assert after["DN"]["by"]["username"] == "dn.manager" and after["DN"]["at"]
    assert after["QB"]["status"] == "pending"


def test_red_alerts_expect_acknowledgement_only_from_the_named_centres(cast, api_client):
    alert = raise_as(cast.ht_security, tlp="red", shared_with=["DN"])
    assert sorted(matrix(api_client, cast.admin, alert)) == ["DN"]


def test_acknowledging_twice_is_harmless_and_keeps_the_first(cast, api_client):
    alert = raise_as(cast.ht_security)
    first = ack(api_client, cast.dn_security, alert).json()
    again = ack(api_client, cast.dn_security, alert)
    colleague = ack(api_client, cast.dn_manager, alert)
    for response in (again, colleague):
        assert response.status_code == 200
        assert response.json()["created"] is False
        assert response.json()["acknowledgement"] == first["acknowledgement"]
    assert Acknowledgement.objects.filter(alert=alert).count() == 1
    assert AlertEvent.objects.filter(alert=alert, kind="acknowledged").count() == 1


@pytest.mark.parametrize(
    "who, status",
    [
        ("dn_engineer", 403),  # engineers do not acknowledge for their centre
        ("ht_manager", 403),  # the raising centre is not a recipient
        ("admin", 403),  # a hub admin belongs to no centre
    ],
)
def test_who_may_not_acknowledge(cast, api_client, who, status):
    alert = raise_as(cast.ht_security)
    response = ack(api_client, getattr(cast, who), alert)
    assert response.status_code == status
    assert response.json()["error"]["code"] == "forbidden"
    assert not Acknowledgement.objects.exists()


def test_a_centre_outside_a_red_alert_gets_404_as_if_it_did_not_exist(cast, api_client):
    alert = raise_as(cast.ht_security, tlp="red", shared_with=["DN"])
    response = ack(api_client, cast.qb_manager, alert)
    assert response.status_code == 404
    assert not Acknowledgement.objects.exists()


def test_the_detail_tells_the_viewer_what_they_may_do(cast, api_client):
    alert = raise_as(cast.ht_security)
    viewer = api_client(cast.dn_manager).get(f"/api/v1/alerts/{alert.pk}").json()["viewer"]
    assert viewer == {"can_acknowledge": True, "acknowledged": False, "can_change_status": False,
                      "can_add_entry": True}
    ack(api_client, cast.dn_security, alert)
    viewer = api_client(cast.dn_manager).get(f"/api/v1/alerts/{alert.pk}").json()["viewer"]
    assert viewer["acknowledged"] is True
    viewer = api_client(cast.ht_manager).get(f"/api/v1/alerts/{alert.pk}").json()["viewer"]
    assert viewer == {"can_acknowledge": False, "acknowledged": False, "can_change_status": True,
                      "can_add_entry": True}


def test_status_moves_forward_only_and_every_change_is_in_the_history(cast, api_client):
    alert = raise_as(cast.ht_security)
    ack(api_client, cast.qb_manager, alert)
    raiser = api_client(cast.ht_manager)
    response = raiser.post(f"/api/v1/alerts/{alert.pk}/status", {"to": "mitigated", "note": "Đã chặn IP"},
                           content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "mitigated"
    response = raiser.post(f"/api/v1/alerts/{alert.pk}/status", {"to": "closed"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "closed"
    response = raiser.post(f"/api/v1/alerts/{alert.pk}/status", {"to": "mitigated"}, content_type="application/json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"

    history = raiser.get(f"/api/v1/alerts/{alert.pk}").json()["history"]
    assert [(h["event"], h["centre"], h["before"], h["after"]) for h in history] == [
        ("raised", "HT", None, "open"),
        ("acknowledged", "QB", "pending", "acknowledged"),
        ("status_changed", "HT", "open", "mitigated"),
        ("status_changed", "HT", "mitigated", "closed"),
    ]
    assert history[2]["note"] == "Đã chặn IP" and history[2]["by"]["username"] == "ht.manager"


@pytest.mark.parametrize(
    "who, payload, status",
    [
        ("dn_manager", {"to": "closed"}, 403),  # another centre's manager
        ("ht_manager", {"to": "open", "note": "lại"}, 409),  # an open alert is not reopened
        ("ht_manager", {"to": "closed", "note": "x" * 2001}, 400),
    ],
)
def test_refused_status_changes_change_nothing(cast, api_client, who, payload, status):
    alert = raise_as(cast.ht_security)
    response = api_client(getattr(cast, who)).post(f"/api/v1/alerts/{alert.pk}/status", payload,
                                                   content_type="application/json")
    assert response.status_code == status
    alert.refresh_from_db()
    assert alert.status == "open"
    assert not AlertEvent.objects.filter(kind="status_changed").exists()


@pytest.mark.django_db(transaction=True)
async def test_an_acknowledgement_is_broadcast_once_to_the_alert_audience(cast, api_client):
    raiser = await listen(cast.ht_security)
    outsider = await listen(cast.qb_engineer)  # outside the amber audience
    try:
        alert = await sync_to_async(raise_as)(cast.ht_security, tlp="amber")
        assert (await next_alert_frame(raiser))["event"] == "raised"
        for user in (cast.dn_manager, cast.dn_security):  # the second is a harmless repeat
            await sync_to_async(ack)(api_client, user, alert)
        frame = await next_alert_frame(raiser)
        assert frame["event"] == "acknowledged" and frame["alert"]["id"] == alert.pk
        assert frame["acknowledgement"]["centre"] == "DN"
        assert frame["acknowledgement"]["by"]["username"] == "dn.manager"
        # The next frame is the public alert raised now: no second acknowledgement frame came before it.
        public = await sync_to_async(raise_as)(cast.ht_security, tlp="clear")
        assert (await next_alert_frame(raiser))["alert"]["id"] == public.pk
        assert (await next_alert_frame(outsider))["alert"]["id"] == public.pk
    finally:
        await raiser.disconnect()
        await outsider.disconnect()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_concurrent_acknowledgements_of_one_centre_record_exactly_one(cast):
    """Two officers of the same centre press Acknowledge at the same moment (PostgreSQL, real
    concurrency): the unique constraint lets one win and the other gets that one back."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from django.db import connection

    from alerts.services import acknowledge_alert

    alert = raise_as(cast.ht_security)
    barrier = Barrier(2)

    def press(user):
        try:
            barrier.wait()
            ack_row, created = acknowledge_alert(alert, by=user)
            return ack_row.pk, created
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(press, [cast.dn_security, cast.dn_manager]))
    assert sorted(created for _, created in results) == [False, True]
    assert len({pk for pk, _ in results}) == 1
    assert Acknowledgement.objects.filter(alert=alert).count() == 1
    assert AlertEvent.objects.filter(alert=alert, kind="acknowledged").count() == 1
