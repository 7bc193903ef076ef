"""Alerts as STIX 2.1 bundles, out and in (OASIS STIX 2.1, built and parsed with the `stix2` library).

Out (`GET /api/v1/alerts/{id}/stix`): a `report` for the alert; an `indicator` with a STIX pattern per
IP, domain, URL, hash or email indicator; a `vulnerability` per CVE; an `infrastructure` per affected
system; a `course-of-action` with the recommended actions; the `identity` of the raising centre as
every object's creator; and the alert's TLP as FIRST TLP 2.0 marking definitions (the OASIS TLP 2.0
extension's fixed objects), referenced by every object. Ids are stable: exporting an alert twice gives
the same ids, so a consumer updates instead of duplicating.

In (`POST /api/v1/alerts/import`): a bundle from a national CERT or a SIEM becomes an alert raised by
the caller: the report's name, description and `severity:` label (or the first indicator's name),
indicators from the patterns' simple comparisons, CVEs from vulnerabilities, systems from
infrastructure, the actions from a course of action, and the strictest TLP marking found (TLP 1.0's
WHITE counts as CLEAR; no TLP marking at all: AMBER). Anything invalid is a 400 naming the object id
and the field; nothing is stored.

The `stix2` package imports the PyPI `requests` library for its TAXII data store, which this module
never uses, and the hub's own `requests` app shadows that name; `_stix2()` gives that one import a
stand-in instead of ever importing the library (docs/alerts.md).
"""

from __future__ import annotations

import hashlib
import json
import sys
import types
import uuid
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from alerts import indicators as indicator_rules
from alerts.models import Alert, Severity
from hub.errors import INVALID, HubError
from hub.sharing import Tlp, tightest

MEDIA_TYPE = "application/stix+json;version=2.1"
TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
# The OASIS TLP 2.0 extension's marking definitions (cti-stix-common-objects): fixed ids and content.
TLP2_IDS = {
    Tlp.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Tlp.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Tlp.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    Tlp.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP2_CREATED = "2022-10-01T00:00:00.000Z"
# TLP 1.0 (STIX 2.1 §7.2.1.4), still what many feeds send.
TLP1_IDS = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": Tlp.CLEAR,
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": Tlp.GREEN,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": Tlp.AMBER,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": Tlp.RED,
}
TLP_WHEN_UNMARKED = Tlp.AMBER
SEVERITY_LABEL = "severity:"
MAX_OBJECTS = 2_000

# STIX patterns per indicator type (the object path compared with `=`).
PATHS = {
    "ipv4": "ipv4-addr:value",
    "ipv6": "ipv6-addr:value",
    "domain": "domain-name:value",
    "url": "url:value",
    "email": "email-addr:value",
}
HASH_PATHS = {"md5": "file:hashes.MD5", "sha1": "file:hashes.'SHA-1'", "sha256": "file:hashes.'SHA-256'"}
# Back from a pattern: object type and property → the hub's indicator type.
TYPES_OF_PATHS = {
    ("ipv4-addr", "value"): "ipv4", ("ipv6-addr", "value"): "ipv6", ("domain-name", "value"): "domain",
    ("url", "value"): "url", ("email-addr", "value"): "email",
}
HASH_NAMES = {"md5": "md5", "sha-1": "sha1", "sha1": "sha1", "sha-256": "sha256", "sha256": "sha256"}


@cache
def _stix2() -> types.ModuleType:
    """The `stix2` package. Its TAXII data store (unused here) imports `requests.exceptions` from
    the PyPI library our `requests` app shadows: that one name gets a stand-in exception class."""
    if "requests.exceptions" not in sys.modules:
        standin = types.ModuleType("requests.exceptions")
        standin.HTTPError = type("HTTPError", (Exception,), {})  # type: ignore[attr-defined]  # a bare module has no declared names
        sys.modules["requests.exceptions"] = standin
    import stix2

    return stix2


def _stable_id(kind: str, key: str) -> str:
    """A STIX id that is the same on every export of the same thing (a hash of the hub's address and
    the key, in the UUIDv4 layout the specification asks of SDO ids)."""
    digest = hashlib.sha256(f"{settings.HUB_PUBLIC_URL}|{kind}|{key}".encode()).digest()
    return f"{kind}--{uuid.UUID(bytes=digest[:16], version=4)}"


def marking(tlp: str) -> Any:
    """The FIRST TLP 2.0 marking definition of `tlp`, as OASIS publishes it."""
    stix2 = _stix2()
    return stix2.MarkingDefinition(id=TLP2_IDS[Tlp(tlp)], created=TLP2_CREATED, name=str(Tlp(tlp).label),
                                   extensions={TLP2_EXTENSION: {"extension_type": "property-extension",
                                                                "tlp_2_0": str(tlp)}})


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def pattern_of(type_: str, value: str, algorithm: str = "") -> str:
    path = HASH_PATHS[algorithm] if type_ == "hash" else PATHS[type_]
    return f"[{path} = {_literal(value)}]"


# --- out ------------------------------------------------------------------------------------------------


def bundle_for(alert: Alert) -> Any:
    """The alert as a STIX 2.1 bundle (`stix2.Bundle`); `.serialize()` gives the JSON."""
    stix2 = _stix2()
    tlp_marking = marking(alert.tlp)
    centre = alert.centre
    identity = stix2.Identity(
        id=_stable_id("identity", f"centre:{centre.code}" if centre else "hub"),
        created="2022-01-01T00:00:00.000Z", modified="2022-01-01T00:00:00.000Z",
        name=f"{centre.name_vi} ({centre.code})" if centre else "Inter-Centre Hub",
        description=centre.name_en if centre else "Hub liên trung tâm",
        identity_class="organization", sectors=["government"],
    )
    common = {"created_by_ref": identity.id, "object_marking_refs": [tlp_marking.id], "created": alert.created_at,
              "modified": alert.updated_at}
    objects: list[Any] = []
    for indicator in alert.indicators.all():
        key = f"alert:{alert.pk}:{indicator.type}:{indicator.value}"
        if indicator.type == "cve":
            objects.append(stix2.Vulnerability(
                id=_stable_id("vulnerability", key), name=indicator.value,
                description=f"{indicator.value} — {alert.title}",
                external_references=[{"source_name": "cve", "external_id": indicator.value}], **common))
            continue
        objects.append(stix2.Indicator(
            id=_stable_id("indicator", key), name=f"{indicator.get_type_display()}: {indicator.value}",
            description=f"#{alert.pk} {alert.title}", indicator_types=["malicious-activity"],
            pattern=pattern_of(indicator.type, indicator.value, indicator.algorithm), pattern_type="stix",
            valid_from=indicator.created_at, **common))
    for system in alert.affected_systems or []:
        objects.append(stix2.Infrastructure(
            id=_stable_id("infrastructure", f"alert:{alert.pk}:system:{system}"), name=system,
            description=f"#{alert.pk} {alert.title}", **common))
    if alert.recommended_actions:
        objects.append(stix2.CourseOfAction(
            id=_stable_id("course-of-action", f"alert:{alert.pk}:actions"), name=f"#{alert.pk} {alert.title}",
            description=alert.recommended_actions, **common))
    report = stix2.Report(
        id=_stable_id("report", f"alert:{alert.pk}"), name=alert.title,
        description=alert.description or alert.title, published=alert.created_at,
        report_types=["threat-report"], labels=[f"{SEVERITY_LABEL}{alert.severity}", f"status:{alert.status}"],
        object_refs=[o.id for o in objects] or [identity.id],
        external_references=[{"source_name": "inter-centre-hub", "external_id": f"alert-{alert.pk}",
                              "url": settings.HUB_PUBLIC_URL + alert.get_absolute_url()}],
        **common)
    return stix2.Bundle(objects=[tlp_marking, identity, report, *objects])


# --- in -------------------------------------------------------------------------------------------------


@dataclass
class Imported:
    """What a bundle says, in the terms of `alerts.services.raise_alert`."""

    title: str = ""
    description: str = ""
    severity: str = Severity.MEDIUM
    tlp: str = TLP_WHEN_UNMARKED
    indicators: list[dict[str, str]] = field(default_factory=list)
    affected_systems: list[str] = field(default_factory=list)
    recommended_actions: str = ""
    origin: dict[str, Any] = field(default_factory=dict)

    def as_alert(self) -> dict[str, Any]:
        return {"title": self.title, "description": self.description, "severity": self.severity, "tlp": self.tlp,
                "indicators": self.indicators, "affected_systems": self.affected_systems,
                "recommended_actions": self.recommended_actions, "origin": self.origin}


def _refuse(object_id: str, field_name: str, reason: Any, index: int | None = None) -> HubError:
    path = f"objects.{index}.{field_name}" if index is not None else field_name
    return HubError(INVALID, _("%(object)s: %(field)s: %(reason)s"), fields=[path], object=object_id,
                    field=field_name, reason=reason)


def _stix_error_field(exc: Exception) -> str:
    for name in ("prop_name",):
        if getattr(exc, name, None):
            return str(getattr(exc, name))
    props = getattr(exc, "properties", None)
    if props:
        return ",".join(sorted(props))
    return "object"


def parse_bundle(raw: bytes | str | dict) -> Imported:
    """Read a STIX 2.1 bundle; raise HubError (400) naming the object and field at fault."""
    stix2 = _stix2()
    from stix2.exceptions import STIXError

    if isinstance(raw, bytes | str):
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            raise HubError(INVALID, _("The body is not valid JSON.")) from None
    else:
        data = raw
    if not isinstance(data, dict) or data.get("type") != "bundle":
        raise _refuse(str(data.get("id", "bundle")) if isinstance(data, dict) else "bundle", "type",
                      _("a STIX 2.1 bundle has \"type\": \"bundle\"."))
    bundle_id = str(data.get("id") or "bundle")
    objects = data.get("objects")
    if not isinstance(objects, list) or not objects:
        raise _refuse(bundle_id, "objects", _("a non-empty list of STIX objects is required."))
    if len(objects) > MAX_OBJECTS:
        raise _refuse(bundle_id, "objects", _("at most %(n)s objects.") % {"n": MAX_OBJECTS})
    parsed: list[Any] = []
    for index, obj in enumerate(objects):
        object_id = str(obj.get("id", f"#{index}")) if isinstance(obj, dict) else f"#{index}"
        if not isinstance(obj, dict):
            raise _refuse(object_id, "object", _("each object is a JSON object."), index)
        if obj.get("spec_version", "2.1") != "2.1" and obj.get("type") != "marking-definition":
            raise _refuse(object_id, "spec_version", _("only STIX 2.1 is accepted."), index)
        try:
            parsed.append(stix2.parse(obj, allow_custom=True, version="2.1"))
        except (STIXError, ValueError, TypeError) as exc:
            raise _refuse(object_id, _stix_error_field(exc), str(exc), index) from None
    return _read(bundle_id, parsed)


def _read(bundle_id: str, objects: list[Any]) -> Imported:
    result = Imported()
    by_id = {o.get("id"): o for o in objects if hasattr(o, "get")}
    reports = [o for o in objects if o.get("type") == "report"]
    report = reports[0] if reports else None
    markings: set[str] = set()
    for index, obj in enumerate(objects):
        for ref in obj.get("object_marking_refs", []) or []:
            markings.add(ref)
        kind = obj.get("type")
        if kind == "indicator":
            result.indicators += _indicators_of(obj, index)
        elif kind == "vulnerability":
            result.indicators += _cves_of(obj, index)
        elif kind == "infrastructure":
            result.affected_systems.append(str(obj["name"])[:200])
        elif kind == "course-of-action" and obj.get("description"):
            result.recommended_actions = "\n\n".join(filter(None, [result.recommended_actions, obj["description"]]))
    levels = [_tlp_of(ref, by_id) for ref in markings]
    known = [level for level in levels if level]
    result.tlp = tightest(*known) if known else TLP_WHEN_UNMARKED
    source = by_id.get(report.get("created_by_ref") if report else None)
    if report is not None:
        result.title = str(report["name"])
        result.description = str(report.get("description") or "")
        for label in report.get("labels", []) or []:
            if str(label).startswith(SEVERITY_LABEL) and label[len(SEVERITY_LABEL):] in Severity.values:
                result.severity = label[len(SEVERITY_LABEL):]
    else:
        named = next((o for o in objects if o.get("type") in ("indicator", "vulnerability") and o.get("name")), None)
        result.title = str(named["name"]) if named else f"STIX {bundle_id}"
    result.title = result.title[:200]
    unique: dict[tuple[str, str], dict[str, str]] = {}  # the first of each (type, value), in order
    for indicator in result.indicators:
        unique.setdefault((indicator["type"], indicator["value"]), indicator)
    result.indicators = list(unique.values())
    result.origin = {"kind": "stix", "bundle": bundle_id, "report": report.get("id") if report else None,
                     "source": str(source["name"]) if source is not None and source.get("name") else None}
    return result


def _tlp_of(ref: str, by_id: dict[str, Any]) -> str | None:
    for level, marking_id in TLP2_IDS.items():
        if ref == marking_id:
            return level
    if ref in TLP1_IDS:
        return TLP1_IDS[ref]
    definition = by_id.get(ref)
    if definition is not None:
        extension = (definition.get("extensions") or {}).get(TLP2_EXTENSION) or {}
        named = extension.get("tlp_2_0") if hasattr(extension, "get") else None
        if named in Tlp.values:
            return str(named)
    return None


def _indicators_of(obj: Any, index: int) -> list[dict[str, str]]:
    """The simple `=` comparisons of an indicator's STIX pattern that name a kind of indicator the
    hub knows; each value must then be valid for its type."""
    if obj.get("pattern_type") != "stix":
        return []
    from stix2patterns.v21.pattern import Pattern

    try:
        inspected = Pattern(obj["pattern"]).inspect()
    except Exception as exc:  # the pattern library raises its own parse errors
        raise _refuse(obj["id"], "pattern", str(exc), index) from None
    found: list[dict[str, str]] = []
    for object_type, comparisons in inspected.comparisons.items():
        for path, operator, value in comparisons:
            if operator != "=" or not isinstance(value, str) or not value.startswith("'"):
                continue
            literal = value[1:-1].replace("\\'", "'").replace("\\\\", "\\")
            type_ = _type_of_path(object_type, path)
            if type_ is None:
                continue
            try:
                clean = indicator_rules.clean(type_, literal)
            except indicator_rules.InvalidIndicator as exc:
                raise _refuse(obj["id"], "pattern", f"{literal!r}: {exc}", index) from None
            found.append({"type": clean.type if type_ != "hash" else clean.algorithm, "value": clean.value})
    return found


def _type_of_path(object_type: str, path: list) -> str | None:
    if object_type == "file" and len(path) == 2 and path[0] == "hashes":
        return HASH_NAMES.get(str(path[1]).strip("'").lower())
    if len(path) == 1:
        return TYPES_OF_PATHS.get((object_type, path[0]))
    return None


def _cves_of(obj: Any, index: int) -> list[dict[str, str]]:
    names = [ref.get("external_id") for ref in obj.get("external_references", []) or []
             if ref.get("source_name") == "cve" and ref.get("external_id")]
    if not names and str(obj.get("name", "")).upper().startswith("CVE-"):
        names = [obj["name"]]
    found = []
    for name in names:
        try:
            found.append({"type": "cve", "value": indicator_rules.clean("cve", name).value})
        except indicator_rules.InvalidIndicator as exc:
            raise _refuse(obj["id"], "external_references", f"{name!r}: {exc}", index) from None
    return found
