"""`/api/v1/alerts…`: thin views over alerts.services and alerts.selectors (see docs/alerts.md)."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Field, Router, Schema, Status

from alerts import indicators as indicator_rules
from alerts import selectors, services, stix
from alerts.serializers import alert_detail_out, alert_out, entries_out, entry_out, sighting_out
from hub.errors import INVALID, HubError, invalid
from hub.lib.api_support import (
    ERRORS,
    ApiRequest,
    ErrorOut,
    InSchema,
    PersonOut,
    Timestamp,
    clamp_limit,
    keyset_page,
    trusted_json,
)

router = Router(tags=["alerts"])


class IndicatorIn(InSchema):
    type: str = Field(description="ipv4, ipv6, domain, url, hash, cve or email (aliases: ip, md5, sha1, sha256, "
                                  "hostname, fqdn, uri, file_hash, cve_id, email_address)")
    value: str = Field(description="Defanged forms (evil[.]com, hxxp://) are accepted and stored refanged.")


class AlertIn(InSchema):
    title: str
    severity: Literal["low", "medium", "high", "critical"]
    tlp: Literal["clear", "green", "amber", "amber+strict", "red"]
    description: str = Field("", description="Markdown; rendered and sanitised into `html`.")
    indicators: list[IndicatorIn] = Field(default_factory=list)
    affected_systems: list[str] | str = Field(default_factory=list, description="A list, or one per line.")
    recommended_actions: str = Field("", description="Markdown.")
    shared_with: list[str] = Field(
        default_factory=list, description="TLP:AMBER, AMBER+STRICT or RED: codes of the centres that may see it "
                                          "besides yours (AMBER: their security officers and managers)."
    )


class StatusIn(InSchema):
    to: Literal["mitigated", "closed", "open"] = Field(description="`open` reopens; it needs a `note` (the reason).")
    note: str = ""


class AlertPatchIn(InSchema):
    description: str | None = None
    severity: Literal["low", "medium", "high", "critical"] | None = None
    tlp: Literal["clear", "green", "amber", "amber+strict", "red"] | None = None
    shared_with: list[str] | None = None
    indicators: list[IndicatorIn] | None = Field(None, description="The whole new list (added/removed are recorded).")
    note: str = Field("", description="Why: kept on each timeline entry this change makes.")


class EntryIn(InSchema):
    text: str
    corrects: int | None = Field(None, description="The id of the entry this one corrects (it stays as it was).")


class SightingOut(Schema):
    alert: int
    centre: str | None
    seen_at: Timestamp
    title: str
    tlp: str
    type: str
    value: str



class IndicatorOut(Schema):
    type: str
    value: str
    algorithm: str | None = None


class SeenBeforeOut(Schema):
    type: str
    value: str
    sightings: list[SightingOut] = Field(
        description="Earlier alerts the caller may see with this indicator, oldest first: at most 20.")
    more: bool = Field(False, description="There are more earlier sightings than `sightings` lists.")
    next: str | None = Field(
        None, description="When `more`: GET this address (`/api/v1/indicators?value=…&type=…&cursor=…`) for the "
                          "sightings after the last one listed, oldest first, paged by `next`.")


class SightingPage(Schema):
    results: list[SightingOut]
    next: str | None = None


class AlertOut(Schema):
    id: int
    title: str
    severity: str
    tlp: str
    status: str
    description: str
    html: str
    affected_systems: list[str]
    indicators: list[IndicatorOut]
    recommended_actions: str
    recommended_actions_html: str
    centre: str | None
    raised_by: PersonOut
    shared_with: list[str]
    created_at: Timestamp
    updated_at: Timestamp
    url: str
    promoted_from: dict[str, Any] | None = Field(
        None, description="Where the alert came from: a conversation (who promoted it and, in an alert's detail, the "
                          "quoted messages as the caller may read them now) or a STIX bundle.")


class AckRowOut(Schema):
    centre: str
    centre_name: str | None = None
    status: Literal["acknowledged", "pending"]
    by: PersonOut | None
    at: Timestamp | None
    escalation_step: int | None = None


class AlertEventOut(Schema):
    event: str
    by: PersonOut | None
    centre: str | None
    before: str | None
    after: str | None
    note: str
    at: Timestamp


class EntryOut(Schema):
    id: int
    kind: str
    text: str
    html: str
    corrects: int | None
    corrected_by: list[int]
    by: PersonOut | None
    centre: str | None
    before: str | None
    after: str | None
    data: dict[str, Any] | None
    at: Timestamp
    can_correct: bool | None = None


class ViewerOut(Schema):
    can_acknowledge: bool
    acknowledged: bool
    can_change_status: bool
    can_add_entry: bool


class AlertLinkedTicketOut(Schema):
    id: int
    reference: str
    title: str
    status: str
    url: str


class AlertRequestLinkOut(Schema):
    id: int
    kind: str = Field(description="caused_by or related_to, as the request says it")
    label: str
    ticket: AlertLinkedTicketOut


class AlertDetailOut(AlertOut):
    acknowledgements: list[AckRowOut]
    seen_before: list[SeenBeforeOut] = Field(description="Per indicator, where it was seen before (TLP-filtered).")
    history: list[AlertEventOut] = Field(description="The timeline in its first shape (kept for older clients).")
    entries: list[EntryOut] = Field(description="The timeline: every entry, oldest first; append-only.")
    requests: list[AlertRequestLinkOut] = Field(
        [], description="Support requests linked to this alert (caused by it, related to it) that the caller may read.")
    viewer: ViewerOut


class AlertListItemOut(AlertOut):
    acknowledged_count: int = Field(description="Recipient centres that acknowledged (the list's column).")
    recipient_count: int = Field(
        description="Centres expected to acknowledge (every centre reached but the raising one).")


class AlertPageOut(Schema):
    results: list[AlertListItemOut]
    next: str | None


class AckOut(Schema):
    created: bool
    acknowledgement: AckRowOut
    alert: AlertDetailOut


@router.post("/alerts", response={201: AlertDetailOut, **ERRORS}, summary="Raise a security alert")
def create_alert(request: ApiRequest, payload: AlertIn):
    alert = services.raise_alert(by=request.auth, **payload.dict())
    # Answered as built, without ninja's validation of the answer against AlertDetailOut (a SIEM's
    # burst raises many: issue 27, target 3); tests/alerts/test_raise_queries.py holds the answer to
    # the schema and to what `GET /api/v1/alerts/{id}` then says.
    return trusted_json(alert_detail_out(alert, request.auth, raised=services.raised_entry(alert)), status=201)


IMPORT_SCHEMA = {"requestBody": {"required": True, "content": {
    media: {"schema": {"type": "object", "required": ["type", "objects"],
                       "properties": {"type": {"const": "bundle"}, "objects": {"type": "array"}}}}
    for media in (stix.MEDIA_TYPE, "application/stix+json", "application/json")}}}


@router.post("/alerts/import", response={201: AlertDetailOut, **ERRORS}, openapi_extra=IMPORT_SCHEMA,
             summary="Raise an alert from a STIX 2.1 bundle (a CERT's or a SIEM's)")
def import_stix(request: ApiRequest, shared_with: str = ""):
    content_type = (request.content_type or "").lower()
    if content_type not in ("application/json", "application/stix+json"):
        raise HubError(INVALID, _("Send the bundle as application/stix+json or application/json."))
    imported = stix.parse_bundle(request.body)
    codes = [c for c in shared_with.split(",") if c.strip()]
    alert = services.raise_alert(by=request.auth, shared_with=codes, **imported.as_alert())
    return Status(201, alert_detail_out(selectors.get_visible_alert(request.auth, alert.pk), request.auth))


# (Declared before `/alerts/{alert_id}`, whose pattern would otherwise take `import` as an id.)


@router.get("/alerts", response={200: AlertPageOut, **ERRORS}, summary="Alerts the caller may see, newest first")
def list_alerts(
    request: ApiRequest, limit: int | None = None, cursor: str | None = None, q: str = "",
    status: str | None = None, severity: str | None = None, tlp: str | None = None, centre: str | None = None,
):
    qs = selectors.search_alerts(request.auth, q=q, status=status, severity=severity, tlp=tlp, centre=centre)
    page = keyset_page(qs.prefetch_related("indicators", "shared_with"), ["-created_at", "-id"], cursor, limit)
    progress = selectors.acknowledgement_progress(list(page.results))
    results = [{**alert_out(a), "acknowledged_count": progress[a.pk][0], "recipient_count": progress[a.pk][1]}
               for a in page.results]
    return {"results": results, "next": page.next}


@router.get("/alerts/awaiting-my-centre", response={200: list[AlertOut], **ERRORS},
            summary="Alerts waiting for the caller's centre to acknowledge, oldest first (extension)")
def alerts_awaiting_my_centre(request: ApiRequest):
    return [alert_out(a) for a in selectors.awaiting_acknowledgement(request.auth)]


@router.get("/alerts/{alert_id}", response={200: AlertDetailOut, **ERRORS},
            summary="One alert with each recipient centre's acknowledgement and its history")
def get_alert(request: ApiRequest, alert_id: int):
    return alert_detail_out(selectors.get_visible_alert(request.auth, alert_id), request.auth)


@router.post("/alerts/{alert_id}/ack", response={200: AckOut, **ERRORS},
             summary="Acknowledge for the caller's centre (idempotent)")
def acknowledge_alert(request: ApiRequest, alert_id: int):
    alert = selectors.get_visible_alert(request.auth, alert_id)
    ack, created = services.acknowledge_alert(alert, by=request.auth)
    detail = alert_detail_out(alert, request.auth)
    # The caller's centre's row of the detail's matrix (centre name and escalation step included),
    # so the answer says exactly what GET /alerts/{id} would.
    row = next(r for r in detail["acknowledgements"] if r["centre"] == ack.centre.code)
    return {"created": created, "acknowledgement": row, "alert": detail}


@router.post("/alerts/{alert_id}/status", response={200: AlertDetailOut, 409: ErrorOut, **ERRORS},
             summary="Mark an alert mitigated or closed, or reopen it with a reason (extension)")
def change_alert_status(request: ApiRequest, alert_id: int, payload: StatusIn):
    alert = selectors.get_visible_alert(request.auth, alert_id)
    alert = services.change_alert_status(alert, by=request.auth, to=payload.to, note=payload.note)
    return alert_detail_out(alert, request.auth)


@router.patch("/alerts/{alert_id}", response={200: AlertDetailOut, **ERRORS},
              summary="Change the description, severity, TLP/sharing or indicators; each change is a timeline entry")
def update_alert(request: ApiRequest, alert_id: int, payload: AlertPatchIn):
    alert = selectors.get_visible_alert(request.auth, alert_id)
    changes = payload.dict(exclude_unset=True)
    if changes.get("indicators") is not None:
        changes["indicators"] = [dict(i) for i in changes["indicators"]]
    alert = services.update_alert(alert, by=request.auth, changes=changes)
    return alert_detail_out(selectors.get_visible_alert(request.auth, alert.pk), request.auth)


@router.get("/alerts/{alert_id}/entries", response={200: list[EntryOut], **ERRORS},
            summary="The alert's timeline (append-only record), oldest first")
def list_entries(request: ApiRequest, alert_id: int):
    alert = selectors.get_visible_alert(request.auth, alert_id)
    return entries_out(alert, request.auth)


@router.post("/alerts/{alert_id}/entries", response={201: EntryOut, **ERRORS},
             summary="Add a note to the record, or a correction of an earlier entry")
def add_entry(request: ApiRequest, alert_id: int, payload: EntryIn):
    alert = selectors.get_visible_alert(request.auth, alert_id)
    entry = services.add_alert_entry(alert, by=request.auth, text=payload.text, corrects=payload.corrects)
    return Status(201, entry_out(entry))


@router.api_operation(["PATCH", "PUT", "DELETE"], "/alerts/{alert_id}/entries/{entry_id}",
                      response={405: ErrorOut, **ERRORS}, summary="Refused (405): entries are never changed")
def rewrite_entry(request: ApiRequest, alert_id: int, entry_id: int):
    selectors.get_visible_alert(request.auth, alert_id)
    services.refuse_rewrite()


STIX_SCHEMA = {"responses": {"200": {"description": "A STIX 2.1 bundle", "content": {stix.MEDIA_TYPE: {
    "schema": {"type": "object", "properties": {"type": {"const": "bundle"}, "id": {"type": "string"},
                                                "objects": {"type": "array", "items": {"type": "object"}}}}}}}}}


@router.get("/alerts/{alert_id}/stix", response={200: None, **ERRORS}, openapi_extra=STIX_SCHEMA,
            summary="The alert as a STIX 2.1 bundle (report, indicators, vulnerabilities, identity, TLP 2.0 markings)")
def export_stix(request: ApiRequest, alert_id: int):
    alert = selectors.get_visible_alert(request.auth, alert_id)
    body = stix.bundle_for(alert).serialize()
    response = HttpResponse(body, content_type=stix.MEDIA_TYPE)
    response["Content-Disposition"] = f'inline; filename="alert-{alert.pk}.stix.json"'
    response["Cache-Control"] = "private, no-store"
    return response


@router.get("/indicators", response={200: SightingPage, **ERRORS},
            summary="Where an indicator was seen: alerts the caller may see that carry it, oldest first")
def find_indicator(request: ApiRequest, value: str, type: str | None = None, limit: int | None = None,
                   cursor: str | None = None):
    try:
        if type is None:
            wanted = indicator_rules.guess(value)
        elif not indicator_rules.known_type(type):
            raise invalid("type", services.ONE_OF, values=", ".join(indicator_rules.TYPES))
        else:
            wanted = indicator_rules.clean(type, value)
    except indicator_rules.InvalidIndicator as exc:
        raise HubError(INVALID, _("value: %(reason)s."), fields=["value"], reason=str(exc)) from None
    page = keyset_page(selectors.sightings_of(request.auth, wanted.type, wanted.value), ["created_at", "id"], cursor,
                       clamp_limit(limit, default=200))
    return {"results": [sighting_out(selectors.as_sighting(s)) for s in page.results], "next": page.next}
