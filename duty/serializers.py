"""Duty as JSON: one shape for the API, the `duty` frames and the pages' scripts."""

from __future__ import annotations

from duty.frames import DutyPerson, DutyWire, ShiftWire
from duty.models import Shift
from duty.selectors import DutyState
from hub.lib.jsonutil import optional_timestamp, timestamp


def person_out(user) -> DutyPerson | None:
    if user is None:
        return None
    return {"username": user.username, "display_name": user.get_display_name()}


def duty_out(state: DutyState) -> DutyWire:
    """`GET /api/v1/centres/{code}/duty` (../shared/CONTRACT.md: `on_duty`, `confirmed`, `since`) and
    the hub's extensions: the state word, the deputy, the shift's end, when it was confirmed."""
    shift = state.shift
    return {
        "centre": state.centre.code,
        "on_duty": person_out(state.officer),
        "confirmed": bool(shift and shift.confirmed_at),
        "since": timestamp(shift.starts_at) if shift else None,
        "until": timestamp(shift.ends_at) if shift else None,
        "confirmed_at": optional_timestamp(shift.confirmed_at) if shift else None,
        "last_seen_at": optional_timestamp(shift.last_seen_at) if shift else None,
        "deputy": person_out(state.deputy),
        "state": state.state,
        "shift": shift.pk if shift else None,
    }


def shift_out(shift: Shift) -> ShiftWire:
    return {
        "id": shift.pk,
        "centre": shift.centre.code,
        "starts_at": timestamp(shift.starts_at),
        "ends_at": timestamp(shift.ends_at),
        "officer": person_out(shift.officer),
        "deputy": person_out(shift.deputy),
        "note": shift.note,
        "confirmed_at": optional_timestamp(shift.confirmed_at),
        "uid": shift.uid,
    }
