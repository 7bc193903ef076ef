"""An alert promoted from a conversation (chat.promotion) is never marked looser than the messages it
quotes, nor shared wider — at promotion and in every later change (chat.promotion.check_quote_floor) —
and shows each quote only to whoever may read that message now — on its page (the API) and in a
webhook's body (as the webhook's owner, within its max_tlp) — even on a row widened before that rule."""

import pytest

from alerts.models import Alert
from alerts.services import update_alert
from chat.services import post_message
from tests.chat.conftest import make_topic  # noqa: F401
from tests.chat.test_promotion import crew, promote  # noqa: F401

pytestmark = pytest.mark.django_db
SECRET = "Chỉ HT và DN: máy chủ 10.9.8.7 đã bị chiếm quyền, mật khẩu quản trị lộ."


def widened_before_the_rule(alert, tlp, shared_with=()):
    """What an alert promoted before quoting items were held to their messages' readers may have
    become (update_alert now refuses it: the tests below)."""
    Alert.objects.filter(pk=alert.pk).update(tlp=tlp)
    alert.shared_with.set(alert.shared_with.filter(code__in=shared_with))
    alert.refresh_from_db()


def delivered(alert, owner, max_tlp):
    from notify.models import Webhook, WebhookDelivery
    from notify.webhooks import payload

    hook = Webhook.objects.create(centre=owner.centre, created_by=owner, url=f"https://siem.{owner.centre.code}.example/h",
                                  events=["alert"], max_tlp=max_tlp)
    return payload(WebhookDelivery.objects.create(webhook=hook, event="alert.updated", alert_id=alert.pk))


def test_an_alert_loosened_later_does_not_loosen_its_quotes(crew, api_client):  # noqa: F811
    topic, p = crew
    secret, _ = post_message(topic, by=p["dn"], body=SECRET, shared_with=["HT", "DN"])
    response = promote(api_client(p["hts"]), secret, to="alert", title="Chiếm quyền", description="xem trích dẫn")
    assert response.status_code == 201, response.content
    alert = Alert.objects.get(pk=response.json()["alert"]["id"])
    assert alert.tlp == "red"
    widened_before_the_rule(alert, "green")
    seen = api_client(p["qb"]).get(f"/api/v1/alerts/{alert.pk}", HTTP_ACCEPT_LANGUAGE="en")
    assert seen.status_code == 200
    assert seen.json()["promoted_from"]["messages"] == [
        {"id": secret.pk, "readable": False, "placeholder": "a message you may not read"}]
    assert seen.json()["promoted_from"]["topic"] is None
    assert SECRET not in seen.content.decode()
    # HT, who may read the message, still reads it quoted; QB's manager's webhook carries no quote.
    ht = api_client(p["ht"]).get(f"/api/v1/alerts/{alert.pk}").json()["promoted_from"]
    assert ht["messages"][0]["body"] == SECRET
    body = delivered(alert, p["qbm"], "green")
    assert body["data"]["alert"]["promoted_from"]["messages"][0]["readable"] is False
    assert SECRET not in str(body)


def test_a_webhook_carries_a_quote_only_within_its_max_tlp(crew, api_client):  # noqa: F811
    topic, p = crew
    amber, _ = post_message(topic, by=p["dn"], body=SECRET)  # the topic's default: TLP:AMBER
    response = promote(api_client(p["hts"]), amber, to="alert", tlp="green", title="Chiếm quyền", description="x")
    assert response.status_code == 400 and response.json()["error"]["fields"] == ["tlp"]  # GREEN quoting AMBER
    response = promote(api_client(p["hts"]), amber, to="alert", title="Chiếm quyền", description="x")
    assert response.status_code == 201, response.content
    alert = Alert.objects.get(pk=response.json()["alert"]["id"])
    assert alert.tlp == "amber"
    assert delivered(alert, p["qbm"], "amber")["data"]["alert"]["promoted_from"]["messages"][0]["body"] == SECRET
    widened_before_the_rule(alert, "green")
    body = delivered(alert, p["qbm"], "green")
    assert body["data"]["alert"]["tlp"] == "green" and SECRET not in str(body)
    assert body["data"]["alert"]["promoted_from"]["messages"][0]["readable"] is False


def test_an_origin_stored_with_its_text_is_still_shown_per_reader(crew, api_client):  # noqa: F811
    """Alerts promoted before quotes were rendered per reader hold the text in `origin`: never shown."""
    topic, p = crew
    secret, _ = post_message(topic, by=p["dn"], body=SECRET, shared_with=["HT", "DN"])
    alert = Alert.objects.get(pk=promote(api_client(p["hts"]), secret, to="alert", title="Chiếm quyền",
                                         description="xem trích dẫn").json()["alert"]["id"])
    assert alert.origin is not None
    legacy = {**alert.origin, "messages": [{"id": secret.pk, "author": {"username": "dn.security"}, "centre": "DN",
                                            "body": SECRET, "html": f"<p>{SECRET}</p>", "tlp": "amber"}]}
    Alert.objects.filter(pk=alert.pk).update(origin=legacy)
    widened_before_the_rule(alert, "green")
    seen = api_client(p["qb"]).get(f"/api/v1/alerts/{alert.pk}")
    assert seen.status_code == 200 and SECRET not in seen.content.decode()
    assert SECRET not in str(api_client(p["qb"]).get("/api/v1/alerts").json())


def test_an_alert_quoting_a_message_is_never_loosened_or_widened_past_its_readers(crew, api_client):  # noqa: F811
    """The reviewer's repro: a message of HT and DN, promoted to a TLP:RED alert with only a title
    (its text prefilled into the description), then loosened to GREEN for everyone — refused, so QB
    never reads the text; widening within HT and DN stays allowed."""
    from hub.errors import FORBIDDEN, HubError

    topic, p = crew
    secret, _ = post_message(topic, by=p["dn"], body=SECRET, shared_with=["HT", "DN"])
    response = promote(api_client(p["hts"]), secret, to="alert", title="Chiếm quyền")
    assert response.status_code == 201, response.content
    alert = Alert.objects.get(pk=response.json()["alert"]["id"])
    assert alert.tlp == "red" and SECRET in alert.description and [c.code for c in alert.shared_with.all()] == ["DN"]
    for changes in ({"tlp": "green", "shared_with": []}, {"tlp": "red", "shared_with": ["DN", "QB"]},
                    {"tlp": "amber", "shared_with": []}):
        with pytest.raises(HubError) as refused:
            update_alert(alert, by=p["hts"], changes=changes)
        assert refused.value.code == FORBIDDEN and "QB" in refused.value.render(), changes
    alert.refresh_from_db()
    assert alert.tlp == "red" and [c.code for c in alert.shared_with.all()] == ["DN"]
    assert api_client(p["qb"]).get(f"/api/v1/alerts/{alert.pk}").status_code == 404
    # Through the API: the same refusal, translated, nothing changed.
    answer = api_client(p["hts"]).patch(f"/api/v1/alerts/{alert.pk}", {"tlp": "green", "shared_with": []},
                                        content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 403 and "QB" in answer.json()["error"]["detail"], answer.content
    assert Alert.objects.get(pk=alert.pk).tlp == "red"
    # Within the message's readers (AMBER for the security officers of HT and DN): allowed.
    update_alert(alert, by=p["hts"], changes={"tlp": "amber", "shared_with": ["DN"]})
    assert Alert.objects.get(pk=alert.pk).tlp == "amber"


def test_an_alert_quoting_amber_is_never_marked_green_later(crew, api_client):  # noqa: F811
    topic, p = crew
    amber, _ = post_message(topic, by=p["dn"], body=SECRET)  # the topic's default: TLP:AMBER, every centre
    alert = Alert.objects.get(pk=promote(api_client(p["hts"]), amber, to="alert", title="x").json()["alert"]["id"])
    answer = api_client(p["hts"]).patch(f"/api/v1/alerts/{alert.pk}", {"tlp": "green"},
                                        content_type="application/json")
    assert answer.status_code in (400, 403) and answer.json()["error"]["fields"][0] == "tlp", answer.content
    assert Alert.objects.get(pk=alert.pk).tlp == "amber"
    # Promoted without its text: not bound.
    other, _ = post_message(topic, by=p["dn"], body=SECRET)
    free = promote(api_client(p["hts"]), other, to="alert", title="x", quote=False).json()["alert"]
    update_alert(Alert.objects.get(pk=free["id"]), by=p["hts"], changes={"tlp": "green"})
    assert Alert.objects.get(pk=free["id"]).tlp == "green"
