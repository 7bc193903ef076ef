"""`/api/v1/alerts…`: thin views over alerts.services and alerts.selectors (see docs/alerts.md)."""

from __future__ import annotations

from typing import Literal

from ninja import Field, Router, Schema, Status

from alerts import selectors, services
from alerts.serializers import alert_detail_out, alert_out
from hub.lib.api_support import ERRORS, ApiRequest, ErrorOut, InSchema, PersonOut, Timestamp, keyset_page

router = Router(tags=["alerts"])


class IndicatorIn(InSchema):
    type: str = Field(description="ipv4, ipv6, domain, url, hash, cve or email (aliases: ip, md5, sha1, sha256, "
                                  "hostname, fqdn, uri, file_hash, cve_id, email_address)")
    value: str = Field(description="Defanged forms (evil[.]com, hxxp://) are accepted and stored refanged.")


class AlertIn(InSchema):
    title: str
    severity: Literal["low", "medium", "high", "critical"]
    tlp: Literal["clear", "green", "amber", "red"]
    description: str = Field("", description="Markdown; rendered and sanitised into `html`.")
    indicators: list[IndicatorIn] = Field(default_factory=list)
    affected_systems: list[str] | str = Field(default_factory=list, description="A list, or one per line.")
    recommended_actions: str = Field("", description="Markdown.")
    shared_with: list[str] = Field(
        default_factory=list, description="TLP:RED only: codes of the centres that may see it besides yours."
    )


class StatusIn(InSchema):
    to: Literal["mitigated", "closed"]
    note: str = ""


class IndicatorOut(Schema):
    type: str
    value: str
    algorithm: str | None = None


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


class ViewerOut(Schema):
    can_acknowledge: bool
    acknowledged: bool
    can_change_status: bool


class AlertDetailOut(AlertOut):
    acknowledgements: list[AckRowOut]
    history: list[AlertEventOut]
    viewer: ViewerOut


class AlertPageOut(Schema):
    results: list[AlertOut]
    next: str | None


class AckOut(Schema):
    created: bool
    acknowledgement: AckRowOut
    alert: AlertDetailOut


@router.post("/alerts", response={201: AlertDetailOut, **ERRORS}, summary="Raise a security alert")
def create_alert(request: ApiRequest, payload: AlertIn):
    alert = services.raise_alert(by=request.auth, **payload.dict())
    return Status(201, alert_detail_out(alert, request.auth))


@router.get("/alerts", response={200: AlertPageOut, **ERRORS}, summary="Alerts the caller may see, newest first")
def list_alerts(
    request: ApiRequest, limit: int | None = None, cursor: str | None = None, q: str = "",
    status: str | None = None, severity: str | None = None, tlp: str | None = None, centre: str | None = None,
):
    qs = selectors.search_alerts(request.auth, q=q, status=status, severity=severity, tlp=tlp, centre=centre)
    page = keyset_page(qs.prefetch_related("indicators", "shared_with"), ["-created_at", "-id"], cursor, limit)
    return {"results": [alert_out(a) for a in page.results], "next": page.next}


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
             summary="Mark an alert mitigated or closed (extension)")
def change_alert_status(request: ApiRequest, alert_id: int, payload: StatusIn):
    alert = selectors.get_visible_alert(request.auth, alert_id)
    alert = services.change_alert_status(alert, by=request.auth, to=payload.to, note=payload.note)
    return alert_detail_out(alert, request.auth)
