"""An alert's record is append-only: every change, note and correction is a new timeline entry, and
nobody — author, admin or a script — edits or deletes one: not through the API, the ORM, raw SQL nor
the Django admin (the database refuses it). A mitigated or closed alert is reopened with a reason."""

import pytest
from django.db import DatabaseError, connection, transaction

from alerts.models import Alert, AlertEvent
from tests.alerts.conftest import listen, next_alert_frame, raise_as

pytestmark = pytest.mark.django_db


def entries(client, alert) -> list[dict]:
    response = client.get(f"/api/v1/alerts/{alert.pk}")
    assert response.status_code == 200
    return response.json()["entries"]


def test_a_note_and_its_correction_are_entries_and_the_corrected_one_stays(cast, api_client):
    alert = raise_as(cast.ht_security)
    responder = api_client(cast.dn_security)
    note = responder.post(f"/api/v1/alerts/{alert.pk}/entries", {"text": "Đà Nẵng thấy IP này quét cổng 22."},
                          content_type="application/json")
    assert note.status_code == 201, note.content
    note = note.json()
    assert note["kind"] == "note" and note["by"]["username"] == "dn.security" and note["centre"] == "DN"
    correction = responder.post(f"/api/v1/alerts/{alert.pk}/entries",
                                {"text": "Đính chính: cổng **3389**, không phải 22.", "corrects": note["id"]},
                                content_type="application/json")
    assert correction.status_code == 201 and correction.json()["corrects"] == note["id"]
    assert "<strong>3389</strong>" in correction.json()["html"]
    timeline = entries(api_client(cast.ht_manager), alert)
    assert [e["kind"] for e in timeline] == ["raised", "note", "note"]
    corrected = next(e for e in timeline if e["id"] == note["id"])
    assert corrected["text"] == "Đà Nẵng thấy IP này quét cổng 22."  # unchanged
    assert corrected["corrected_by"] == [correction.json()["id"]]
    assert api_client(cast.ht_manager).get(f"/api/v1/alerts/{alert.pk}/entries").json() == timeline


@pytest.mark.parametrize("method", ["patch", "put", "delete"])
def test_an_entry_is_never_changed_or_deleted_over_http(cast, api_client, method):
    alert = raise_as(cast.ht_security)
    entry = AlertEvent.objects.get(alert=alert)
    for user in (cast.ht_security, cast.admin):
        response = getattr(api_client(user), method)(f"/api/v1/alerts/{alert.pk}/entries/{entry.pk}",
                                                     {"text": "sửa"}, content_type="application/json")
        assert response.status_code == 405, response.content
        assert response.json()["error"]["code"] == "method_not_allowed"
    assert AlertEvent.objects.get(pk=entry.pk).text == entry.text


def test_who_may_add_and_correct_entries(cast, api_client):
    alert = raise_as(cast.ht_security)
    url = f"/api/v1/alerts/{alert.pk}/entries"
    assert api_client(cast.dn_engineer).post(url, {"text": "x"}, content_type="application/json").status_code == 403
    note = api_client(cast.dn_security).post(url, {"text": "ghi chú"}, content_type="application/json").json()
    # Another centre's officer does not correct DN's note; DN's author and the raising side do.
    response = api_client(cast.qb_manager).post(url, {"text": "sai", "corrects": note["id"]},
                                                content_type="application/json")
    assert response.status_code == 403
    response = api_client(cast.ht_manager).post(url, {"text": "đúng ra là…", "corrects": note["id"]},
                                                content_type="application/json")
    assert response.status_code == 201
    for bad in ({"text": ""}, {"text": "x", "corrects": 999999}, {"text": "x" * 20_001}):
        response = api_client(cast.dn_security).post(url, bad, content_type="application/json")
        assert response.status_code == 400 and response.json()["error"]["fields"], bad
    assert AlertEvent.objects.filter(alert=alert).count() == 3


def test_changes_to_an_alert_are_timeline_entries(cast, api_client):
    alert = raise_as(cast.ht_security, tlp="green", severity="medium",
                     indicators=[{"type": "ipv4", "value": "203.0.113.7"}])
    raiser = api_client(cast.ht_manager)
    response = raiser.patch(f"/api/v1/alerts/{alert.pk}", {
        "description": "Đã xác định: **ransomware** LockBit.", "severity": "critical", "tlp": "amber+strict",
        "shared_with": ["DN"], "indicators": [{"type": "domain", "value": "lockbit[.]example"},
                                              {"type": "ipv4", "value": "203.0.113.7"}],
        "note": "Phân tích của DN"}, content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["severity"], body["tlp"], body["shared_with"]) == ("critical", "amber+strict", ["DN"])
    assert [(i["type"], i["value"]) for i in body["indicators"]] == [("domain", "lockbit.example"),
                                                                     ("ipv4", "203.0.113.7")]
    timeline = body["entries"]
    assert [e["kind"] for e in timeline] == ["raised", "description", "severity", "tlp", "indicators"]
    assert timeline[0]["text"] == "Phát hiện **ransomware** trên máy chủ."  # the original stays on record
    assert timeline[1]["text"] == "Đã xác định: **ransomware** LockBit."
    assert (timeline[2]["before"], timeline[2]["after"]) == ("medium", "critical")
    assert (timeline[3]["before"], timeline[3]["after"]) == ("green", "amber+strict")
    assert timeline[3]["data"] == {"shared_with": {"before": [], "after": ["DN"]}}
    assert timeline[4]["data"] == {"added": [{"type": "domain", "value": "lockbit.example"}], "removed": []}
    assert all(e["by"]["username"] == "ht.manager" for e in timeline[1:])
    # Nothing changed, nothing recorded.
    again = raiser.patch(f"/api/v1/alerts/{alert.pk}", {"severity": "critical"}, content_type="application/json")
    assert len(again.json()["entries"]) == 5
    # The new audience applies at once: QB (not shared) no longer sees it, DN's engineers never did.
    assert api_client(cast.qb_manager).get(f"/api/v1/alerts/{alert.pk}").status_code == 404
    assert api_client(cast.dn_security).get(f"/api/v1/alerts/{alert.pk}").status_code == 200


def test_a_tlp_change_takes_the_summary_message_with_it(cast, api_client):
    alert = raise_as(cast.ht_security, tlp="green")
    api_client(cast.ht_security).patch(f"/api/v1/alerts/{alert.pk}", {"tlp": "red", "shared_with": ["DN"]},
                                       content_type="application/json")
    for user, sees in ((cast.qb_engineer, False), (cast.dn_engineer, True)):
        history = api_client(user).get("/api/v1/topics/an-toan-thong-tin/messages").json()["results"]
        summaries = [m for m in history if m["client_id"] == f"alert-{alert.pk}"]
        assert bool(summaries) is sees, user.username
        if sees:
            assert summaries[0]["tlp"] == "red" and summaries[0]["shared_with"] == ["DN", "HT"]
            # A change of its wire form like any other: a page away meanwhile gets it through `sync`.
            assert summaries[0]["version"] == 1
    from chat.models import Message

    assert Message.objects.get(client_id=f"alert-{alert.pk}").changed_at is not None


def test_only_the_raising_side_changes_an_alert_and_bad_values_change_nothing(cast, api_client):
    alert = raise_as(cast.ht_security)
    url = f"/api/v1/alerts/{alert.pk}"
    assert api_client(cast.dn_manager).patch(url, {"severity": "low"}, content_type="application/json"
                                             ).status_code == 403
    for bad in ({"severity": "extreme"}, {"tlp": "white"}, {"tlp": "green", "shared_with": ["DN"]},
                {"indicators": [{"type": "ipv4", "value": "999.0.0.1"}]}, {"shared_with": ["XX"]}):
        response = api_client(cast.ht_security).patch(url, bad, content_type="application/json")
        assert response.status_code == 400, (bad, response.content)
    assert AlertEvent.objects.filter(alert=alert).count() == 1
    assert Alert.objects.get(pk=alert.pk).severity == "high"


def test_a_closed_alert_is_reopened_with_a_reason(cast, api_client):
    alert = raise_as(cast.ht_security)
    raiser = api_client(cast.ht_security)
    status = f"/api/v1/alerts/{alert.pk}/status"
    raiser.post(status, {"to": "closed", "note": "Đã xử lý"}, content_type="application/json")
    response = raiser.post(status, {"to": "open"}, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["fields"] == ["note"]
    response = raiser.post(status, {"to": "open", "note": "IP quay lại tấn công lúc 02:00"},
                           content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "open"
    last = response.json()["entries"][-1]
    assert (last["kind"], last["before"], last["after"], last["text"]) == (
        "reopened", "closed", "open", "IP quay lại tấn công lúc 02:00")


@pytest.mark.django_db(transaction=True)
async def test_entries_reach_the_alert_audience_live(cast):
    from asgiref.sync import sync_to_async

    from alerts.services import add_alert_entry

    alert = await sync_to_async(raise_as)(cast.ht_security, tlp="red", shared_with=["DN"])
    dn, qb = await listen(cast.dn_engineer), await listen(cast.qb_manager)
    try:
        await sync_to_async(add_alert_entry)(alert, by=cast.ht_security, text="Cập nhật: đã chặn.")
        frame = await next_alert_frame(dn)
        assert frame["event"] == "entry" and frame["entry"]["text"] == "Cập nhật: đã chặn."
        assert await qb.receive_nothing(timeout=0.5)
    finally:
        await dn.disconnect()
        await qb.disconnect()


# --- the database refuses, whoever asks ------------------------------------------------------------


def _refused(action) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        action()


def test_the_database_refuses_to_update_or_delete_an_entry_through_the_orm(cast):
    alert = raise_as(cast.ht_security)
    entry = AlertEvent.objects.get(alert=alert)
    entry.note = "đã sửa"
    _refused(entry.save)
    _refused(lambda: AlertEvent.objects.filter(pk=entry.pk).update(text="đã sửa"))
    _refused(lambda: AlertEvent.objects.filter(pk=entry.pk).delete())
    _refused(alert.delete)  # an alert takes its record with it, so it cannot be deleted either
    assert AlertEvent.objects.get(pk=entry.pk).note == ""


def test_the_database_refuses_raw_sql(cast):
    alert = raise_as(cast.ht_security)
    entry = AlertEvent.objects.get(alert=alert)
    table = AlertEvent._meta.db_table

    def raw(sql):
        with connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])

    _refused(lambda: raw(f"UPDATE {table} SET note = 'x' WHERE id = %s"))
    _refused(lambda: raw(f"DELETE FROM {table} WHERE id = %s"))
    assert AlertEvent.objects.filter(pk=entry.pk, note="").exists()


def test_the_admin_shows_entries_read_only_and_deletes_nothing(cast, client, make_user):
    alert = raise_as(cast.ht_security)
    entry = AlertEvent.objects.get(alert=alert)
    client.force_login(make_user("root", centre=None, role="hub_admin", is_staff=True, is_superuser=True))
    page = client.get(f"/admin/alerts/alertevent/{entry.pk}/change/")
    assert page.status_code == 200 and 'name="note"' not in page.content.decode()
    assert client.post(f"/admin/alerts/alertevent/{entry.pk}/change/", {"note": "x"}).status_code == 403
    assert client.post(f"/admin/alerts/alertevent/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"/admin/alerts/alert/{alert.pk}/delete/", {"post": "yes"}).status_code == 403
    response = client.post("/admin/alerts/alertevent/", {"action": "delete_selected", "_selected_action": [entry.pk],
                                                         "post": "yes"})
    assert response.status_code in (200, 302)
    assert AlertEvent.objects.filter(pk=entry.pk, note="").exists() and Alert.objects.filter(pk=alert.pk).exists()
