"""One JSON encoder for frames and events (orjson: fast, UTF-8 native), and the hub's one timestamp
format for every wire form — API answers, frames, history events.

Timestamps are ISO 8601 in UTC with `Z` and milliseconds, always all three parts:
`2026-11-26T06:09:21.549Z`. Messages used to say `+00:00` with microseconds and tickets `Z` with
milliseconds (or none when they were zero); a client comparing or parsing them had to know both.
Milliseconds are what JavaScript's `Date` keeps; a timestamp a client sends back (`changed_since`)
is then at most a millisecond early, which can only re-send an edit, never skip one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

_ZERO = timedelta(0)
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME


def timestamp(value: datetime) -> str:
    """`value` as the hub writes every timestamp (a naive value is taken to be UTC)."""
    offset = value.utcoffset()
    if offset is None:
        value = value.replace(tzinfo=UTC)
    elif offset != _ZERO:
        value = value.astimezone(UTC)
    return value.isoformat(timespec="milliseconds")[:-6] + "Z"


def optional_timestamp(value: datetime | None) -> str | None:
    return timestamp(value) if value is not None else None


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return timestamp(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any) -> str:
    return orjson.dumps(value, default=_default, option=_OPTIONS).decode()
