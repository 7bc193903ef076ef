"""Webhooks with real HTTP receivers on 127.0.0.1: registration (managers, the SSRF guard), the signature,
TLP and rights decided at delivery, retries with back-off, no redirects, and a slow or failing
receiver that holds up nobody else."""

import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from alerts.services import raise_alert
from chat.services import create_topic, post_message
from notify.models import WebhookDelivery
from notify.services import expand_alert_notices
from notify.webhooks import UnsafeTarget, check_target, deliver_webhooks, post_json, register_webhook
from requests.services import add_comment, create_ticket
from tests.alerts.conftest import alert_payload

pytestmark = pytest.mark.django_db(transaction=True)
SECRET = "s3cret-for-the-siem-0123456789"



def raise_and_expand(**fields):
    """An alert raised, and its notice expanded as the job `notify.alerts` does within seconds: the
    webhook deliveries are written then (the raise writes only the notice)."""
    alert = raise_alert(**fields)
    expand_alert_notices()
    return alert


def verify(request: dict, secret: str = SECRET, fresh: bool = True) -> dict:
    """What a receiver does (docs/notifications.md): recompute the HMAC over "<timestamp>.<body>"."""
    headers = {k.lower(): v for k, v in request["headers"].items()}
    timestamp = headers["x-hub-timestamp"]
    expected = "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + request["body"],
                                    hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-hub-signature-256"], expected)
    if fresh:  # a receiver refuses old timestamps (replays); the retry test moves the clock on purpose
        assert abs(int(timestamp) - time.time()) < 60
    assert headers["content-type"] == "application/json"
    return json.loads(request["body"])


def test_registration_over_the_api_refuses_private_targets_unless_allowed(cast, api_client, receiver, settings):
    client = api_client(cast.dn_manager)
    body = {"url": receiver.url, "events": ["alert"], "secret": SECRET}
    refused = client.post("/api/v1/webhooks", body, content_type="application/json")
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"] == ["url"] and "127.0.0.1" in refused.json()["error"]["detail"]
    for url in ("http://10.1.2.3/x", "http://169.254.169.254/latest/meta-data", "http://[::1]/x",
                "http://[::ffff:127.0.0.1]/x", "ftp://example.org/", "http://user:pw@example.org/",
                "http://0.0.0.0/"):
        answer = client.post("/api/v1/webhooks", {**body, "url": url}, content_type="application/json")
        assert answer.status_code == 400, url
    settings.HUB_WEBHOOK_ALLOW_PRIVATE = True
    created = client.post("/api/v1/webhooks", body, content_type="application/json")
    assert created.status_code == 201
    assert created.json()["centre"] == "DN" and created.json()["events"] == ["alert"]
    assert created.json()["secret"] == SECRET and created.json()["max_tlp"] == "green"
    # An engineer may not register one; a short secret or an unknown event is a 400.
    assert api_client(cast.dn_engineer).post("/api/v1/webhooks", body,
                                             content_type="application/json").status_code == 403
    assert client.post("/api/v1/webhooks", {**body, "secret": "short"},
                       content_type="application/json").status_code == 400
    assert client.post("/api/v1/webhooks", {**body, "events": ["everything"]},
                       content_type="application/json").status_code == 400
    listed = client.get("/api/v1/webhooks").json()
    assert [w["url"] for w in listed] == [receiver.url]
    assert api_client(cast.qb_manager).get("/api/v1/webhooks").json() == []  # another centre's


def test_a_name_that_resolves_to_loopback_is_refused_after_resolution():
    with pytest.raises(UnsafeTarget, match="127.0.0.1"):
        check_target("http://localhost:8080/hook")


def test_an_alert_reaches_the_receiver_signed(cast, receiver, allow_private):
    register_webhook(user=cast.dn_manager, url=receiver.url, events=["alert"], secret=SECRET)
    alert = raise_and_expand(by=cast.ht_security, **alert_payload(severity="high"))
    assert receiver.requests == []  # nothing leaves from the request that raised it
    assert deliver_webhooks()["delivered"] == 1
    [request] = receiver.requests
    body = verify(request)
    assert body["event"] == "alert.raised" and body["centre"] == "DN"
    assert body["data"]["alert"]["id"] == alert.pk and body["data"]["alert"]["title"] == alert.title
    assert request["headers"]["X-Hub-Event"] == "alert.raised"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.response_status, delivery.attempts) == ("delivered", 200, 1)


def test_tlp_decides_what_leaves(cast, receivers, allow_private):
    green_only = receivers()
    up_to_amber = receivers()
    register_webhook(user=cast.dn_manager, url=green_only.url, events=["alert"], secret=SECRET)
    register_webhook(user=cast.dn_manager, url=up_to_amber.url, events=["alert"], secret=SECRET, max_tlp="amber")
    for tlp in ("clear", "green", "amber"):
        raise_and_expand(by=cast.ht_security, **alert_payload(tlp=tlp, title=f"tlp {tlp}"))
    raise_and_expand(by=cast.ht_security, **alert_payload(tlp="red", shared_with=["DN"], title="tlp red"))
    for _ in range(4):
        deliver_webhooks()
    titles = lambda r: [verify(x)["data"]["alert"]["title"] for x in r.requests]  # noqa: E731
    assert titles(green_only) == ["tlp clear", "tlp green"]
    assert titles(up_to_amber) == ["tlp clear", "tlp green", "tlp amber"]  # never red


def test_rights_are_checked_at_delivery(cast, receiver, allow_private):
    register_webhook(user=cast.dn_manager, url=receiver.url, events=["alert"], secret=SECRET)
    raise_and_expand(by=cast.ht_security, **alert_payload())
    cast.dn_manager.is_active = False  # the manager who registered it left
    cast.dn_manager.save()
    assert deliver_webhooks()["skipped"] == 1
    assert receiver.requests == []


def test_request_changes_and_messages_in_chosen_topics(cast, receiver, allow_private):
    topic = create_topic(slug="an-toan-thong-tin", name_vi="An toàn thông tin", name_en="Security")
    other = create_topic(slug="su-kien-hoi-thao", name_vi="Sự kiện", name_en="Events")
    post_message(topic, by=cast.ht_engineer, body="trước khi đăng ký: không gửi")
    register_webhook(user=cast.dn_manager, url=receiver.url, events=["ticket", "message"], secret=SECRET,
                     topics=["an-toan-thong-tin"])
    # A request is TLP:AMBER unless its author says otherwise, and webhooks let out GREEN at most by default.
    ticket = create_ticket(by=cast.ht_engineer, title="Hỗ trợ rà soát", category="security", target_centre="DN",
                           tlp="green")
    create_ticket(by=cast.ht_engineer, title="Không rời hub", category="security", target_centre="DN")
    add_comment(ticket, by=cast.dn_manager, body="Ghi chú nội bộ", internal=True)  # never leaves
    post_message(topic, by=cast.ht_engineer, body="Phát hiện dò quét từ 203.0.113.7")
    post_message(other, by=cast.ht_engineer, body="Không theo dõi chủ đề này")
    for _ in range(3):
        deliver_webhooks()
    events = [verify(r) for r in receiver.requests]
    assert [e["event"] for e in events] == ["ticket.created", "message.created"]
    assert events[0]["data"]["ticket"]["reference"] == ticket.reference
    assert events[1]["data"]["message"]["body"] == "Phát hiện dò quét từ 203.0.113.7"


def test_a_failing_receiver_is_retried_with_back_off_in_order(cast, receiver, allow_private):
    receiver.statuses = [500, 503]
    register_webhook(user=cast.dn_manager, url=receiver.url, events=["alert"], secret=SECRET)
    first = raise_and_expand(by=cast.ht_security, **alert_payload(title="một"))
    raise_and_expand(by=cast.ht_security, **alert_payload(title="hai"))
    with time_machine.travel(timezone.now(), tick=True) as clock:
        assert deliver_webhooks()["retry"] == 1
        assert deliver_webhooks() == {"delivered": 0, "retry": 0, "failed": 0, "skipped": 0, "running": 0}
        failed = WebhookDelivery.objects.get(alert=first)
        assert (failed.attempts, failed.response_status, failed.last_error) == (1, 500, "HTTP 500")
        clock.shift(timedelta(seconds=31))
        assert deliver_webhooks()["retry"] == 1  # 503
        clock.shift(timedelta(seconds=61))
        assert deliver_webhooks()["delivered"] == 1
        assert deliver_webhooks()["delivered"] == 1  # then the second, never before the first
    assert [verify(r, fresh=False)["data"]["alert"]["title"] for r in receiver.requests] == ["một", "một", "một", "hai"]


def test_redirects_are_not_followed(cast, receivers, allow_private):
    target = receivers()
    redirecting = receivers()
    redirecting.redirect_to = target.url
    register_webhook(user=cast.dn_manager, url=redirecting.url, events=["alert"], secret=SECRET)
    raise_and_expand(by=cast.ht_security, **alert_payload())
    assert deliver_webhooks()["retry"] == 1
    assert target.requests == [] and WebhookDelivery.objects.get().last_error == "HTTP 302"


def test_a_slow_receiver_slows_nothing_else(cast, receivers, allow_private, settings):
    settings.HUB_WEBHOOK_TIMEOUT = 3
    slow, fast = receivers(), receivers()
    slow.delay = 2.5
    register_webhook(user=cast.dn_manager, url=slow.url, events=["alert"], secret=SECRET)
    register_webhook(user=cast.dn_manager, url=fast.url, events=["alert"], secret=SECRET)
    started = time.monotonic()
    raise_and_expand(by=cast.ht_security, **alert_payload())
    raised = time.monotonic() - started
    assert raised < 2  # raising wrote the outbox; it never waited for a receiver
    started = time.monotonic()
    counts = deliver_webhooks(wait=0.8)
    assert counts["delivered"] == 1 and counts["running"] == 1
    assert len(fast.requests) == 1 and fast.requests[0]["at"] - started < 0.8
    assert slow.wait_for(1, timeout=5)  # it gets its delivery too, in its own thread
    deadline = time.monotonic() + 5
    while WebhookDelivery.objects.filter(status="pending").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_a_receiver_slower_than_the_time_out_is_a_failed_attempt(receiver, settings):
    settings.HUB_WEBHOOK_ALLOW_PRIVATE = True
    settings.HUB_WEBHOOK_TIMEOUT = 0.5
    receiver.delay = 2
    with pytest.raises(TimeoutError):
        post_json(receiver.url, b"{}", {})


def test_the_test_button_sends_a_signed_ping(cast, api_client, receiver, allow_private):
    client = api_client(cast.dn_manager)
    created = client.post("/api/v1/webhooks", {"url": receiver.url, "events": ["alert"], "secret": SECRET},
                          content_type="application/json").json()
    assert client.post(f"/api/v1/webhooks/{created['id']}/test").status_code == 202
    deliver_webhooks()
    assert verify(receiver.requests[0])["event"] == "ping"
    detail = client.get(f"/api/v1/webhooks/{created['id']}").json()
    assert detail["deliveries"][0]["status"] == "delivered" and detail["deliveries"][0]["response_status"] == 200
    assert api_client(cast.qb_manager).post(f"/api/v1/webhooks/{created['id']}/test").status_code == 404
    assert client.delete(f"/api/v1/webhooks/{created['id']}").status_code == 204


def test_a_requests_discussion_thread_is_not_a_topic_a_webhook_may_follow(cast, receiver, allow_private):
    """Decided (docs/notifications.md, "What leaves by `message`"): `message.created` comes only from
    ordinary topics. A request's thread is the two centres' working conversation about it; what a
    centre's tools follow of a request is its record, the `ticket.*` events. Choosing the thread is a
    400 naming `topics`, and a message written in it never leaves."""
    from hub.errors import HubError
    from requests.services import thread_slug

    ticket = create_ticket(by=cast.ht_engineer, title="Hỗ trợ rà soát", category="security", target_centre="DN",
                           tlp="green")
    with pytest.raises(HubError) as refused:
        register_webhook(user=cast.dn_manager, url=receiver.url, events=["message"], secret=SECRET,
                         topics=[thread_slug(ticket)])
    assert refused.value.fields == ["topics"]
    security = create_topic(slug="an-toan-thong-tin", name_vi="ATTT", name_en="Security")
    register_webhook(user=cast.dn_manager, url=receiver.url, events=["ticket", "message"], secret=SECRET,
                     topics=[security.slug])
    assert ticket.thread is not None
    post_message(ticket.thread, by=cast.dn_manager, body="Trao đổi trong luồng của yêu cầu")
    post_message(security, by=cast.dn_manager, body="Trong chủ đề thường")
    for _ in range(3):
        deliver_webhooks()
    assert [verify(r)["data"]["message"]["body"] for r in receiver.requests] == ["Trong chủ đề thường"]
