"""The one JSON shape of an alert, shared by the HTTP API and the `alert` frames, so a client can
merge what it fetched with what it was pushed without translating between two vocabularies."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from alerts.frames import AcknowledgementWire, AlertEntryWire, AlertWire, EscalationWire, IndicatorWire
from alerts.models import Acknowledgement, Alert, AlertEvent, Escalation
from alerts.selectors import (
    SEEN_BEFORE_LIMIT,
    Sighting,
    acknowledgement_matrix,
    can_acknowledge,
    can_add_entry,
    can_change_status,
    can_correct,
    person_out,
    recipient_centre_list,
    seen_before,
    timeline,
)
from chat.promotion import origin_reference, promoted_from, recorded
from hub.lib.api_support import encode_cursor
from hub.lib.jsonutil import timestamp


def indicator_out(indicator) -> IndicatorWire:
    return {"type": indicator.type, "value": indicator.value, "algorithm": indicator.algorithm or None}


def alert_out(alert: Alert) -> AlertWire:
    """The alert itself: what every recipient may see (no per-viewer or per-centre detail) — so of a
    promotion only its reference, never a quote (`alert_detail_out` renders those per viewer)."""
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
        "promoted_from": origin_reference(alert.origin),
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


def entry_out(entry: AlertEvent) -> AlertEntryWire:
    """One timeline entry (`entries` of an alert, `POST /api/v1/alerts/{id}/entries`): never changed
    once written; `corrected_by` lists the entries that correct it."""
    return {
        "id": entry.pk,
        "kind": entry.kind,
        "text": entry.text or entry.note,
        "html": entry.html,
        "corrects": entry.corrects_id,
        "corrected_by": list(getattr(entry, "corrected_by", [])),
        "by": person_out(entry.actor) if entry.actor is not None else None,
        "centre": entry.centre.code if entry.centre is not None else None,
        "before": entry.before or None,
        "after": entry.after or None,
        "data": recorded(entry.data),  # never a quote (chat.promotion)
        "at": timestamp(entry.at),
    }


def entries_out(alert: Alert, viewer: Any, *, record: list[AlertEvent] | None = None) -> list[dict[str, Any]]:
    """The timeline as `viewer` gets it: each entry and whether they may correct it (`record`: the
    `timeline(alert)` the caller already read)."""
    return [{**entry_out(e), "can_correct": can_correct(e, viewer)}
            for e in (timeline(alert) if record is None else record)]


def sighting_out(sighting: Sighting) -> dict[str, Any]:
    """Where an indicator was seen: `GET /api/v1/indicators` and an alert's `seen_before`."""
    return {"alert": sighting.alert_id, "centre": sighting.centre, "seen_at": timestamp(sighting.created_at),
            "title": sighting.title, "tlp": sighting.tlp, "type": sighting.type, "value": sighting.value}


def sightings_next(type_: str, value: str, last: Sighting) -> str:
    """The address of the sightings after `last` (`GET /api/v1/indicators`, oldest first)."""
    query = urlencode({"value": value, "type": type_, "cursor": encode_cursor([last.created_at, last.id])})
    return f"/api/v1/indicators?{query}"


def seen_before_out(indicator: Any, found: list[Sighting]) -> dict[str, Any]:
    """One indicator's `seen_before`: its first SEEN_BEFORE_LIMIT earlier sightings and, when there
    are more, `next`: where to page the rest from."""
    shown = found[:SEEN_BEFORE_LIMIT]
    more = len(found) > SEEN_BEFORE_LIMIT
    return {"type": indicator.type, "value": indicator.value, "sightings": [sighting_out(s) for s in shown],
            "more": more, "next": sightings_next(indicator.type, indicator.value, shown[-1]) if more else None}


def acknowledgement_out(ack: Acknowledgement) -> AcknowledgementWire:
    return {"centre": ack.centre.code, "status": "acknowledged", "by": person_out(ack.user), "at": timestamp(ack.at)}


def escalation_out(escalation: Escalation) -> EscalationWire:
    return {
        "centre": escalation.centre.code,
        "step": escalation.step,
        "at": timestamp(escalation.at),
        "notified": list(escalation.notified),
    }


def alert_detail_out(alert: Alert, viewer: Any, *, raised: AlertEvent | None = None) -> dict[str, Any]:
    """`GET /api/v1/alerts/{id}`: the alert, the acknowledgement matrix, its history, the requests
    linked to it, and what the viewer may do with it (so a UI shows the Acknowledge button only where it would work).

    `raised`: the answer to the raise itself, whose transaction wrote this entry, the alert's whole
    record then; nothing else can have happened to it before it was committed (no acknowledgement,
    escalation, other entry or linked request), so none of those is read (alerts.services.raise_alert,
    issue 27: four queries of each raise)."""
    from requests.selectors import tickets_linked_to_alert

    recipients = recipient_centre_list(alert)  # read once: the matrix and the viewer's rights
    matrix = acknowledgement_matrix(alert, recipients=recipients, new=raised is not None)
    mine = next((row for row in matrix if viewer.centre_id and row["centre"] == viewer.centre.code), None)
    # read once: `history` and `entries` are two shapes of it
    record = timeline(alert) if raised is None else [raised]
    entries = entries_out(alert, viewer, record=record)
    earlier = seen_before(viewer, alert)
    return {
        **alert_out(alert),
        # Each quote as the viewer may read it now (chat.promotion, "Never wider later").
        "promoted_from": promoted_from(alert.origin, viewer),
        # Per viewer (their TLP rights), so beside `indicators`, which every recipient shares.
        "seen_before": [seen_before_out(i, earlier[i.pk]) for i in alert.indicators.all()],
        "acknowledgements": matrix,
        "history": [event_out(e) for e in record],
        "entries": entries,
        # The support requests linked to it that the viewer may read (requests.selectors).
        "requests": tickets_linked_to_alert(viewer, alert.pk) if raised is None else [],
        "viewer": {
            "can_acknowledge": can_acknowledge(alert, viewer, recipients=recipients),
            "acknowledged": bool(mine and mine["status"] == "acknowledged"),
            "can_change_status": can_change_status(alert, viewer),
            "can_add_entry": can_add_entry(alert, viewer),
        },
    }
