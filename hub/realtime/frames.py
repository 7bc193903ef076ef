"""The frames every hub socket may receive whatever its kind (each app's own frames are in its
`frames.py`; docs/frames.md lists them all)."""

from __future__ import annotations

from typing import Literal, TypedDict


class ErrorFrame(TypedDict):
    """A refused frame; the socket stays open (hub.realtime.consumers.HubConsumer.send_error)."""

    type: Literal["error"]
    code: str  # invalid | too_large | rate_limited | forbidden | not_authenticated | unavailable
    detail: str  # in the socket's language (hub.i18n.socket_language)
