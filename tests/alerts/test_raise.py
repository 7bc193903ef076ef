"""Raising an alert: who may (by role, by token), what is stored, and bad input that changes nothing."""

import pytest

from alerts.models import Alert, AlertEvent, Indicator
from tests.alerts.conftest import alert_payload

pytestmark = pytest.mark.django_db


def post_alert(client, **overrides):
    return client.post("/api/v1/alerts", alert_payload(**overrides), content_type="application/json")


@pytest.mark.parametrize(
    "role, expected",
    [("security_officer", 201), ("hub_admin", 201), ("engineer", 403), ("manager", 403)],
)
def test_only_security_officers_and_hub_admins_raise_alerts(make_user, api_client, role, expected):
    user = make_user(f"someone.{role}", centre="HT", role=role)
    response = post_alert(api_client(user))
    assert response.status_code == expected, response.content
    if expected == 403:
        assert response.json()["error"]["code"] == "forbidden"
        assert not Alert.objects.exists()
    else:
        assert Alert.objects.get().raised_by == user


def test_a_script_raises_an_alert_with_a_token_and_gets_it_back(cast, api_client):
    response = post_alert(
        api_client(cast.ht_security),
        tlp="amber", severity="critical",
        description="Xem <script>alert(1)</script> **ngay**",
        indicators=[
            {"type": "ipv4", "value": "203.0.113.7"},
            {"type": "ipv6", "value": "2001:DB8:0:0::1"},
            {"type": "domain", "value": "Evil-Site[.]VN"},
            {"type": "url", "value": "hxxps://evil-site.vn/dang-nhap?x=1"},
            {"type": "hash", "value": "D41D8CD98F00B204E9800998ECF8427E"},
            {"type": "cve", "value": "cve-2024-3400"},
            {"type": "email", "value": "attacker@Evil-Site.VN"},
        ],
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["severity"] == "critical" and body["tlp"] == "amber" and body["status"] == "open"
    assert body["centre"] == "HT" and body["raised_by"]["username"] == "ht.security"
    assert body["indicators"] == [
        {"type": "ipv4", "value": "203.0.113.7", "algorithm": None},
        {"type": "ipv6", "value": "2001:db8::1", "algorithm": None},
        {"type": "domain", "value": "evil-site.vn", "algorithm": None},
        {"type": "url", "value": "https://evil-site.vn/dang-nhap?x=1", "algorithm": None},
        {"type": "hash", "value": "d41d8cd98f00b204e9800998ecf8427e", "algorithm": "md5"},
        {"type": "cve", "value": "CVE-2024-3400", "algorithm": None},
        {"type": "email", "value": "attacker@evil-site.vn", "algorithm": None},
    ]
    assert "<script>" not in body["html"] and "<strong>ngay</strong>" in body["html"]
    assert body["affected_systems"] == ["Hệ thống một cửa điện tử"]
    assert body["created_at"].endswith("Z") and len(body["created_at"]) == 24  # hub.lib.jsonutil.timestamp
    assert [e["event"] for e in body["history"]] == ["raised"]
    assert body["url"] == f"/alerts/{body['id']}/"


def test_affected_systems_may_be_one_per_line(cast, api_client):
    response = post_alert(api_client(cast.ht_security), affected_systems="Cổng VPN\n\n Email công vụ \nCổng VPN")
    assert response.status_code == 201
    assert response.json()["affected_systems"] == ["Cổng VPN", "Email công vụ"]


def test_an_anonymous_caller_gets_401(db, client):
    response = client.post("/api/v1/alerts", alert_payload(), content_type="application/json")
    assert response.status_code == 401
    assert not Alert.objects.exists()


BAD_INDICATORS = [
    ("ipv4", "256.1.1.1"),
    ("ipv4", "10.0.0"),
    ("ipv4", "2001:db8::1"),
    ("ipv4", "01.2.3.4"),
    ("ipv6", "2001:db8:::1"),
    ("ipv6", "203.0.113.7"),
    ("domain", "localhost"),
    ("domain", "-bad-.vn"),
    ("domain", "exa mple.vn"),
    ("domain", "under_score.vn"),
    ("domain", "1.2.3.4"),
    ("url", "javascript:alert(1)"),
    ("url", "https://"),
    ("url", "http://exa mple.vn/"),
    ("url", "evil.vn/path"),
    ("hash", "xyz123"),
    ("hash", "d41d8cd98f00b204e9800998ecf842"),  # 30 hex digits: no algorithm has that length
    ("cve", "CVE-24-1"),
    ("cve", "CVE-1990-1234"),
    ("cve", "2024-3400"),
    ("email", "not-an-email"),
    ("email", "a@b"),
    ("email", ""),
]


@pytest.mark.parametrize("kind, value", BAD_INDICATORS)
def test_a_bad_indicator_is_a_400_naming_its_field_and_nothing_is_stored(cast, api_client, kind, value):
    from chat.models import Message

    response = post_alert(
        api_client(cast.ht_security),
        indicators=[{"type": "cve", "value": "CVE-2024-3400"}, {"type": kind, "value": value}],
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"] == ["indicators.1.value"]
    assert error["detail"].startswith("indicators.1.value: ")
    assert not Alert.objects.exists() and not Indicator.objects.exists() and not AlertEvent.objects.exists()
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"indicators": [{"type": "asn", "value": "AS13335"}]}, "indicators.0.type"),
        ({"indicators": [{"type": "ipv4"}]}, "indicators.0.value"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"severity": "urgent"}, "severity"),
        ({"tlp": "white"}, "tlp"),
        ({"tlp": "red", "shared_with": ["DN", "XX"]}, "shared_with.1"),
        ({"tlp": "green", "shared_with": ["DN"]}, "shared_with"),
        ({"description": "x" * 20_001}, "description"),
        ({"affected_systems": ["x" * 201]}, "affected_systems.0"),
    ],
)
def test_other_bad_input_is_a_400_naming_the_field(cast, api_client, overrides, field):
    response = post_alert(api_client(cast.ht_security), **overrides)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"] == [field]
    assert not Alert.objects.exists()


@pytest.mark.parametrize(
    "kind, value, normalised",
    [
        ("ipv4", " 198.51.100.0/24 ", "198.51.100.0/24"),
        ("ipv6", "2001:db8::/32", "2001:db8::/32"),
        ("domain", "evil(.)com", "evil.com"),
        ("domain", "đànẵng.vn", "xn--nng-8ka8v493n.vn"),
        ("url", "hxxp://evil[.]com[:]8080/a", "http://evil.com:8080/a"),
        ("hash", "A" * 64, "a" * 64),
        ("email", "Soc[@]Example[.]vn", "Soc@example.vn"),
    ],
)
def test_indicators_are_refanged_and_normalised(kind, value, normalised):
    from alerts.indicators import clean

    assert clean(kind, value).value == normalised


def test_the_openapi_document_describes_the_alert_endpoints(cast, api_client):
    schema = api_client(cast.dn_engineer).get("/api/v1/schema").json()
    paths = schema["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/alerts"])
    for path in ("/api/v1/alerts/{alert_id}", "/api/v1/alerts/{alert_id}/ack", "/api/v1/alerts/{alert_id}/status"):
        assert path in paths
    assert "acknowledgements" in schema["components"]["schemas"]["AlertDetailOut"]["properties"]


@pytest.mark.parametrize(
    "kind, value, stored",
    [
        ("ip", "203.0.113.9", ("ipv4", "203.0.113.9", None)),
        ("ip", "2001:db8::9", ("ipv6", "2001:db8::9", None)),
        ("sha256", "B" * 64, ("hash", "b" * 64, "sha256")),
        ("MD5", "d41d8cd98f00b204e9800998ecf8427e", ("hash", "d41d8cd98f00b204e9800998ecf8427e", "md5")),
        ("hostname", "mail.evil.vn", ("domain", "mail.evil.vn", None)),
    ],
)
def test_common_type_spellings_are_stored_under_the_canonical_type(cast, api_client, kind, value, stored):
    response = post_alert(api_client(cast.ht_security), indicators=[{"type": kind, "value": value}])
    assert response.status_code == 201, response.content
    indicator = response.json()["indicators"][0]
    assert (indicator["type"], indicator["value"], indicator["algorithm"]) == stored


def test_an_algorithm_named_as_the_type_must_match_the_length(cast, api_client):
    response = post_alert(api_client(cast.ht_security), indicators=[{"type": "md5", "value": "a" * 64}])
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == ["indicators.0.value"]
