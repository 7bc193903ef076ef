"""Alerts travel as STIX 2.1: every exported bundle passes the OASIS validator, carries FIRST's TLP 2.0
markings, and comes back through the import as the same alert; a bad bundle is a 400 naming the
object and the field, and stores nothing."""

import json
from typing import Any

import pytest

from alerts.models import Alert
from alerts.stix import TLP2_EXTENSION, TLP2_IDS, _stix2
from tests.alerts.conftest import raise_as

pytestmark = pytest.mark.django_db

INDICATORS = [
    {"type": "ipv4", "value": "203.0.113.7"},
    {"type": "ipv6", "value": "2001:db8::1"},
    {"type": "ipv4", "value": "198.51.100.0/24"},
    {"type": "domain", "value": "dichvucong-gov[.]vn"},
    {"type": "url", "value": "hxxps://evil-site.vn/dang-nhap?x=1&y='2'"},
    {"type": "md5", "value": "D41D8CD98F00B204E9800998ECF8427E"},
    {"type": "sha256", "value": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"type": "cve", "value": "cve-2024-3400"},
    {"type": "email", "value": "attacker@Evil-Site.VN"},
]


def validate(text: str) -> None:
    """The OASIS validator, as a national CERT's tooling would run it; every error is a failure."""
    _stix2()  # the same stand-in for the PyPI `requests` name the validator also imports
    from stix2validator import ValidationOptions, validate_string

    result = validate_string(text, ValidationOptions(version="2.1"))
    assert result.is_valid, json.dumps(result.as_dict(), default=str, ensure_ascii=False)


def export(client, alert) -> tuple[dict, str]:
    response = client.get(f"/api/v1/alerts/{alert.pk}/stix")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/stix+json;version=2.1"
    return response.json(), response.content.decode()


@pytest.mark.parametrize("tlp", ["clear", "green", "amber", "amber+strict", "red"])
def test_every_exported_bundle_is_valid_stix_with_first_tlp_2_markings(cast, api_client, tlp):
    alert = raise_as(cast.ht_security, tlp=tlp, indicators=INDICATORS,
                     affected_systems=["Cổng dịch vụ công", "Máy chủ thư"],
                     shared_with=["DN"] if tlp in ("amber", "red") else [])
    bundle, text = export(api_client(cast.ht_security), alert)
    validate(text)
    by_type: dict[str, list] = {}
    for obj in bundle["objects"]:
        by_type.setdefault(obj["type"], []).append(obj)
    (marking,) = by_type["marking-definition"]
    assert marking["id"] == TLP2_IDS[tlp] and marking["name"] == f"TLP:{tlp.upper()}"
    assert marking["extensions"][TLP2_EXTENSION] == {"extension_type": "property-extension", "tlp_2_0": tlp}
    (identity,) = by_type["identity"]
    assert "HT" in identity["name"] and identity["identity_class"] == "organization"
    (report,) = by_type["report"]
    assert report["name"] == alert.title and "severity:high" in report["labels"]
    patterns = sorted(i["pattern"] for i in by_type["indicator"])
    assert patterns == sorted([
        "[ipv4-addr:value = '203.0.113.7']",
        "[ipv6-addr:value = '2001:db8::1']",
        "[ipv4-addr:value = '198.51.100.0/24']",
        "[domain-name:value = 'dichvucong-gov.vn']",
        "[url:value = 'https://evil-site.vn/dang-nhap?x=1&y=\\'2\\'']",
        "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']",
        "[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']",
        "[email-addr:value = 'attacker@evil-site.vn']",
    ])
    (vulnerability,) = by_type["vulnerability"]
    assert vulnerability["name"] == "CVE-2024-3400"
    assert vulnerability["external_references"] == [{"source_name": "cve", "external_id": "CVE-2024-3400"}]
    assert sorted(i["name"] for i in by_type["infrastructure"]) == ["Cổng dịch vụ công", "Máy chủ thư"]
    for obj in bundle["objects"]:  # everything but the markings and the (public) identity is marked
        if obj["type"] not in ("marking-definition", "identity"):
            assert obj["object_marking_refs"] == [marking["id"]], obj["id"]
            assert obj["created_by_ref"] == identity["id"], obj["id"]
    assert set(report["object_refs"]) == {o["id"] for o in bundle["objects"]
                                          if o["type"] not in ("marking-definition", "identity", "report")}


def test_exporting_twice_gives_the_same_ids(cast, api_client):
    alert = raise_as(cast.ht_security, indicators=INDICATORS[:3])
    client = api_client(cast.dn_manager)
    first, _ = export(client, alert)
    second, _ = export(client, alert)
    assert [o["id"] for o in first["objects"]] == [o["id"] for o in second["objects"]]


@pytest.mark.parametrize("tlp", ["green", "amber+strict", "red"])
def test_export_then_import_round_trips(cast, api_client, tlp):
    alert = raise_as(cast.ht_security, tlp=tlp, severity="critical", indicators=INDICATORS,
                     affected_systems=["Cổng dịch vụ công"], recommended_actions="Chặn **IP** tại tường lửa.",
                     description="Phát hiện quét cổng có chủ đích.")
    _, text = export(api_client(cast.ht_security), alert)
    response = api_client(cast.dn_security).post("/api/v1/alerts/import", text,
                                                 content_type="application/stix+json")
    assert response.status_code == 201, response.content
    imported = response.json()
    original = api_client(cast.ht_security).get(f"/api/v1/alerts/{alert.pk}").json()
    for key in ("title", "description", "severity", "tlp", "affected_systems", "recommended_actions"):
        assert imported[key] == original[key], key
    assert sorted((i["type"], i["value"]) for i in imported["indicators"]) == sorted(
        (i["type"], i["value"]) for i in original["indicators"])
    assert imported["centre"] == "DN" and imported["raised_by"]["username"] == "dn.security"
    assert imported["promoted_from"]["kind"] == "stix"
    assert "HT" in imported["promoted_from"]["source"]
    # And what was imported exports as valid STIX again.
    validate(export(api_client(cast.dn_security), Alert.objects.get(pk=imported["id"]))[1])


def test_a_foreign_bundle_with_tlp_1_markings_and_no_report_is_raised(cast, api_client):
    bundle = {"type": "bundle", "id": "bundle--0f6c5a2a-2f4e-4f0e-9a55-6f0d8b1f2e3c", "objects": [
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
         "created": "2026-03-12T08:00:00.000Z", "modified": "2026-03-12T08:00:00.000Z",
         "name": "C2 của chiến dịch phishing", "pattern_type": "stix", "valid_from": "2026-03-12T08:00:00Z",
         "pattern": "[domain-name:value = 'Phish.Example.COM'] OR [ipv4-addr:value = '192.0.2.10']"
                    " OR [process:name = 'x.exe']",
         "object_marking_refs": ["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"]},
    ]}
    response = api_client(cast.qb_manager.__class__.objects.get(username="ht.security")).post(
        "/api/v1/alerts/import", json.dumps(bundle), content_type="application/json")
    assert response.status_code == 201, response.content
    alert = response.json()
    assert alert["title"] == "C2 của chiến dịch phishing" and alert["tlp"] == "amber"
    assert alert["severity"] == "medium"
    assert [(i["type"], i["value"]) for i in alert["indicators"]] == [
        ("domain", "phish.example.com"), ("ipv4", "192.0.2.10")]


@pytest.mark.parametrize("mutate, object_id, field", [
    (lambda b: b["objects"][2].__setitem__("pattern", "[ipv4-addr:value = '203.0.113.7'"), "indicator", "pattern"),
    (lambda b: b["objects"][2].__setitem__("pattern", "[ipv4-addr:value = '999.1.1.1']"), "indicator", "pattern"),
    (lambda b: b["objects"][1].pop("name"), "report", "name"),
    (lambda b: b["objects"][1].__setitem__("published", "hôm qua"), "report", "published"),
])
def test_an_invalid_bundle_is_a_400_naming_the_object_and_field_and_stores_nothing(cast, api_client, mutate,
                                                                                  object_id, field):
    bundle: dict[str, Any] = {"type": "bundle", "id": "bundle--1f6c5a2a-2f4e-4f0e-9a55-6f0d8b1f2e3c", "objects": [
        {"type": "identity", "spec_version": "2.1", "id": "identity--6a5b5a2a-2f4e-4f0e-9a55-6f0d8b1f2e3c",
         "created": "2026-03-12T08:00:00.000Z", "modified": "2026-03-12T08:00:00.000Z", "name": "VNCERT"},
        {"type": "report", "spec_version": "2.1", "id": "report--7a5b5a2a-2f4e-4f0e-9a55-6f0d8b1f2e3c",
         "created": "2026-03-12T08:00:00.000Z", "modified": "2026-03-12T08:00:00.000Z", "name": "Cảnh báo",
         "published": "2026-03-12T08:00:00Z", "object_refs": ["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]},
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
         "created": "2026-03-12T08:00:00.000Z", "modified": "2026-03-12T08:00:00.000Z", "pattern_type": "stix",
         "valid_from": "2026-03-12T08:00:00Z", "pattern": "[ipv4-addr:value = '203.0.113.7']"},
    ]}
    mutate(bundle)
    target = next(o["id"] for o in bundle["objects"] if o["type"] == object_id)
    response = api_client(cast.ht_security).post("/api/v1/alerts/import", json.dumps(bundle),
                                                 content_type="application/stix+json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid" and target in error["detail"] and field in error["detail"], error
    index = [o["id"] for o in bundle["objects"]].index(target)
    assert error["fields"] == [f"objects.{index}.{field}"]
    assert not Alert.objects.exists()


@pytest.mark.parametrize("body, content_type", [
    ("not json", "application/json"),
    ('{"type": "report"}', "application/json"),
    ('{"type": "bundle", "objects": []}', "application/stix+json"),
    ('{"type": "bundle", "objects": [1]}', "application/json"),
    ('{"type": "bundle", "objects": []}', "text/plain"),
])
def test_what_is_not_a_bundle_is_refused_clearly(cast, api_client, body, content_type):
    response = api_client(cast.ht_security).post("/api/v1/alerts/import", body, content_type=content_type)
    assert response.status_code == 400 and response.json()["error"]["detail"]
    assert not Alert.objects.exists()


def test_only_those_who_raise_alerts_import_and_only_readers_export(cast, api_client):
    alert = raise_as(cast.ht_security, tlp="red", shared_with=["DN"])
    assert api_client(cast.qb_manager).get(f"/api/v1/alerts/{alert.pk}/stix").status_code == 404
    assert api_client(cast.dn_engineer).get(f"/api/v1/alerts/{alert.pk}/stix").status_code == 200
    _, text = export(api_client(cast.ht_security), alert)
    response = api_client(cast.dn_engineer).post("/api/v1/alerts/import", text, content_type="application/stix+json")
    assert response.status_code == 403
    assert Alert.objects.count() == 1
