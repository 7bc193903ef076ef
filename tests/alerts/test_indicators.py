"""Indicators across alerts: the same indicator, however it was written (defanged, upper case, an IPv4
address spelled as IPv6), is one indicator; each alert shows where it was seen before, and
`GET /api/v1/indicators?value=` answers where a value was seen — only within the caller's TLP rights."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts import indicators
from alerts.models import Alert, Indicator
from tests.alerts.conftest import alert_payload, raise_as

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("written, expected", [
    ("203.0.113.7", ("ipv4", "203.0.113.7")),
    ("203.0.113[.]7", ("ipv4", "203.0.113.7")),
    ("::ffff:203.0.113.7", ("ipv4", "203.0.113.7")),
    ("2001:0DB8:0000::0001", ("ipv6", "2001:db8::1")),
    ("Evil-Site[.]VN.", ("domain", "evil-site.vn")),
    ("hxxps://Evil-Site[.]VN/Path", ("url", "https://evil-site.vn/Path")),
    ("D41D8CD98F00B204E9800998ECF8427E", ("hash", "d41d8cd98f00b204e9800998ecf8427e")),
    ("cve-2024-3400", ("cve", "CVE-2024-3400")),
    ("Attacker[@]Evil-Site.VN", ("email", "Attacker@evil-site.vn")),
])
def test_a_value_is_recognised_and_normalised_whatever_its_spelling(written, expected):
    found = indicators.guess(written)
    assert (found.type, found.value) == expected


def test_indicators_are_extracted_from_a_conversation():
    text = ("Đà Nẵng đang thấy quét cổng từ 203.0.113.7 (và 203.0.113[.]7 nữa), C2 ở dichvucong-gov[.]vn, "
            "tải mã độc qua hxxp://dichvucong-gov[.]vn/tai-lieu.exe, mẫu có MD5 44d88612fea8a8f36de82e1278abb02f; "
            "khai thác CVE-2024-3400. Báo cáo chi tiết trong bao-cao.pdf, v.v. Lúc 10:30:45 ngày 12.03.")
    assert [(i.type, i.value) for i in indicators.extract(text)] == [
        ("ipv4", "203.0.113.7"),
        ("domain", "dichvucong-gov.vn"),
        ("url", "http://dichvucong-gov.vn/tai-lieu.exe"),
        ("hash", "44d88612fea8a8f36de82e1278abb02f"),
        ("cve", "CVE-2024-3400"),
    ]


def _backdate(alert: Alert, days: int) -> None:
    at = timezone.now() - timedelta(days=days)
    Alert.objects.filter(pk=alert.pk).update(created_at=at)
    Indicator.objects.filter(alert=alert).update(created_at=at)


def test_an_alert_shows_where_its_indicators_were_seen_before_within_the_viewers_rights(cast, make_user, api_client):
    qb_security = make_user("qb.security", centre="QB", role="security_officer")
    hue_security = make_user("hue.security", centre="HUE", role="security_officer")
    at_qb = raise_as(qb_security, tlp="green", indicators=[{"type": "ip", "value": "203.0.113.7"}])
    _backdate(at_qb, 30)
    at_hue = raise_as(hue_security, tlp="red", indicators=[{"type": "ipv4", "value": "203.0.113[.]7"}])
    _backdate(at_hue, 10)
    latest = raise_as(cast.ht_security, tlp="green", indicators=[{"type": "ipv4", "value": "::ffff:203.0.113.7"},
                                                                 {"type": "domain", "value": "new.example"}])

    def seen(user) -> list[tuple[int, str]]:
        body = api_client(user).get(f"/api/v1/alerts/{latest.pk}").json()
        (ip, domain) = body["seen_before"]
        assert (ip["type"], ip["value"], domain["sightings"]) == ("ipv4", "203.0.113.7", [])
        return [(s["alert"], s["centre"]) for s in ip["sightings"]]

    assert seen(cast.dn_engineer) == [(at_qb.pk, "QB")]  # HUE's TLP:RED alert is not DN's to see
    assert seen(hue_security) == [(at_qb.pk, "QB"), (at_hue.pk, "HUE")]
    # Later alerts are not "seen before" the earlier one.
    assert api_client(hue_security).get(f"/api/v1/alerts/{at_qb.pk}").json()["seen_before"][0]["sightings"] == []


def test_an_alert_lists_its_first_earlier_sightings_and_where_to_page_the_rest(cast, make_user, api_client):
    """`seen_before` lists at most SEEN_BEFORE_LIMIT sightings per indicator, the oldest the caller may
    see, with `more` and `next`: the address that pages the rest (issue 27: an indicator seen in
    thousands of alerts made every detail, and every raise's 201, list all of them)."""
    from alerts.selectors import SEEN_BEFORE_LIMIT

    hue_security = make_user("hue.security", centre="HUE", role="security_officer")
    hidden = raise_as(hue_security, tlp="red", indicators=[{"type": "ipv4", "value": "203.0.113.9"}])
    _backdate(hidden, 40)  # the oldest, but not DN's to see: not listed, not counted
    earlier = []
    for days in range(SEEN_BEFORE_LIMIT + 5, 0, -1):
        alert = raise_as(cast.ht_security, tlp="green", indicators=[{"type": "ipv4", "value": "203.0.113[.]9"}])
        _backdate(alert, days)
        earlier.append(alert.pk)
    client = api_client(cast.dn_security)
    answer = client.post("/api/v1/alerts", alert_payload(indicators=[{"type": "ipv4", "value": "203.0.113.9"},
                                                                     {"type": "domain", "value": "fresh.example"}]),
                         content_type="application/json")
    assert answer.status_code == 201, answer.content
    created = answer.json()
    ip, domain = created["seen_before"]
    assert [s["alert"] for s in ip["sightings"]] == earlier[:SEEN_BEFORE_LIMIT]
    assert ip["more"] is True and ip["next"].startswith("/api/v1/indicators?")
    assert (domain["sightings"], domain["more"], domain["next"]) == ([], False, None)
    rest = client.get(ip["next"]).json()  # the rest, oldest first: this alert's own sighting last
    assert [r["alert"] for r in rest["results"]] == earlier[SEEN_BEFORE_LIMIT:] + [created["id"]]
    assert rest["next"] is None
    # The detail answers the same; the raiser's 201 was built without reading it back.
    assert client.get(f"/api/v1/alerts/{created['id']}").json() == created
    # Someone who may see the hidden alert gets it first.
    seen = api_client(hue_security).get(f"/api/v1/alerts/{created['id']}").json()["seen_before"][0]
    assert [s["alert"] for s in seen["sightings"]] == [hidden.pk, *earlier[:SEEN_BEFORE_LIMIT - 1]]


def test_the_indicator_search_pages_by_cursor(cast, api_client):
    raised = [raise_as(cast.ht_security, tlp="green", indicators=[{"type": "domain", "value": "paged.example"}]).pk
              for _ in range(5)]
    client = api_client(cast.dn_engineer)
    first = client.get("/api/v1/indicators?value=paged.example&limit=3").json()
    assert [r["alert"] for r in first["results"]] == raised[:3] and first["next"]
    second = client.get(f"/api/v1/indicators?value=paged.example&limit=3&cursor={first['next']}").json()
    assert [r["alert"] for r in second["results"]] == raised[3:] and second["next"] is None
    typed = client.get("/api/v1/indicators?value=PAGED[.]example&type=domain").json()
    assert [r["alert"] for r in typed["results"]] == raised
    refused = client.get("/api/v1/indicators?value=paged.example&type=colour")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid"


def test_the_indicator_search_answers_only_within_the_callers_tlp_rights(cast, api_client):
    green = raise_as(cast.ht_security, tlp="green", indicators=[{"type": "domain", "value": "evil.example"}])
    amber = raise_as(cast.ht_security, tlp="amber", indicators=[{"type": "domain", "value": "EVIL.example"}])
    red = raise_as(cast.ht_security, tlp="red", shared_with=["DN"],
                   indicators=[{"type": "url", "value": "http://evil.example/"},
                               {"type": "domain", "value": "evil[.]example"}])

    def where(user, value="evil[.]example") -> list[int]:
        response = api_client(user).get("/api/v1/indicators", {"value": value})
        assert response.status_code == 200, response.content
        results = response.json()["results"]
        assert all(set(r) >= {"alert", "centre", "seen_at"} for r in results)
        return [r["alert"] for r in results]

    assert where(cast.qb_engineer) == [green.pk]
    assert where(cast.qb_manager) == [green.pk, amber.pk]
    assert where(cast.dn_engineer) == [green.pk, red.pk]
    assert where(cast.admin) == [green.pk, amber.pk, red.pk]
    assert where(cast.dn_engineer, "hxxp://evil[.]example/") == [red.pk]
    response = api_client(cast.dn_engineer).get("/api/v1/indicators", {"value": "không phải chỉ dấu"})
    assert response.status_code == 400 and response.json()["error"]["fields"] == ["value"]
