"""The one JSON shape of an alert, shared by the HTTP API and the `alert` frames, so a client can
merge what it fetched with what it was pushed without translating between two vocabularies."""

from __future__ import annotations

from typing import Any

from alerts.frames import AcknowledgementWire, AlertWire, EscalationWire, IndicatorWire
from alerts.models import Acknowledgement, Alert, AlertEvent, Escalation
from alerts.selectors import (
    acknowledgement_matrix,
    alert_history,
    can_acknowledge,
    can_change_status,
    person_out,
)
from hub.lib.jsonutil import timestamp


def indicator_out(indicator) -> IndicatorWire:
    return {"type": indicator.type, "value": indicator.value, "algorithm": indicator.algorithm or None}


def alert_out(alert: Alert) -> AlertWire:
    """The alert itself: what every recipient may see (no per-viewer or per-centre detail)."""
    return {
        "id": alert.pk,
        "title": alert.title,
        "severity": alert.severity,
        "tlp": alert.tlp,
        "status": alert.status,
        "description": alert.description,
        "html": alert.description_html,
        "affected_systems": list(alert.affected_systems or []),
        "indicators": [indicator_out(i) for i in alert.indicators.all()],
        "recommended_actions": alert.recommended_actions,
        "recommended_actions_html": alert.recommended_actions_html,
        "centre": alert.centre.code if alert.centre is not None else None,
        "raised_by": person_out(alert.raised_by),
        "shared_with": sorted(c.code for c in alert.shared_with.all()),
        "created_at": timestamp(alert.created_at),
        "updated_at": timestamp(alert.updated_at),
        "url": alert.get_absolute_url(),
    }


def event_out(event: AlertEvent) -> dict[str, Any]:
    return {
        "event": event.kind,
        "by": person_out(event.actor) if event.actor_id else None,
        "centre": event.centre.code if event.centre is not None else None,
        "before": event.before or None,
        "after": event.after or None,
        "note": event.note,
        "at": timestamp(event.at),
    }


def acknowledgement_out(ack: Acknowledgement) -> AcknowledgementWire:
    return {"centre": ack.centre.code, "status": "acknowledged", "by": person_out(ack.user), "at": timestamp(ack.at)}


def escalation_out(escalation: Escalation) -> EscalationWire:
    return {
        "centre": escalation.centre.code,
        "step": escalation.step,
        "at": timestamp(escalation.at),
        "notified": list(escalation.notified),
    }


def alert_detail_out(alert: Alert, viewer: Any) -> dict[str, Any]:
    """`GET /api/v1/alerts/{id}`: the alert, the acknowledgement matrix, its history, and what the
    viewer may do with it (so a UI shows the Acknowledge button only where it would work)."""
    matrix = acknowledgement_matrix(alert)
    mine = next((row for row in matrix if viewer.centre_id and row["centre"] == viewer.centre.code), None)
    return {
        **alert_out(alert),
        "acknowledgements": matrix,
        "history": [event_out(e) for e in alert_history(alert)],
        "viewer": {
            "can_acknowledge": can_acknowledge(alert, viewer),
            "acknowledged": bool(mine and mine["status"] == "acknowledged"),
            "can_change_status": can_change_status(alert, viewer),
        },
    }
