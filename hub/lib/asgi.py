"""The ASGI callables' types as the hub writes them: plain dicts, not asgiref's per-event TypedDicts
(the hub's layers pass messages through without caring which event they are)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
