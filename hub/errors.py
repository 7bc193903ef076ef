"""The hub's one error contract: a domain refusal, raised by services and selectors, knowing nothing
of HTTP or WebSockets.

    raise HubError(CONFLICT, _("This request was merged into #%(id)s."), id=other.id)

- `code` is one of the constants below (or one an app defines with `define`); each code maps, here
  and only here, to an HTTP status and to the WebSocket `error` frame's code.
- `message` is a lazy translation (`gettext_lazy`) with `%(name)s` placeholders; `params` fill them.
  It is rendered in the *caller's* language at the edge (`render()` under `translation.override`),
  never in whatever language the thread that raised it happened to have active.
- `fields` names the request fields at fault (the API puts them in `error.fields`).
- `extra` adds members to the API's error body for a client to act on (the workflow's 409 names the
  moves still `allowed`; a stale write the current `version`); never text to read.

The HTTP API answers it with `{"error": {"code", "detail", "fields"?}}` and the status below
(hub/api.py); a WebSocket consumer with `{"type": "error", "code", "detail"}` (hub/realtime/consumers.py).
Nothing was stored when one is raised: services raise before they write, or inside the transaction
that the exception rolls back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise, lazy

# --- codes (../shared/CONTRACT.md's error codes, and the hub's own) ----------------------------------
INVALID = "invalid"
NOT_AUTHENTICATED = "not_authenticated"
TOKEN_INVALID = "token_invalid"
FORBIDDEN = "forbidden"
NOT_FOUND = "not_found"
METHOD_NOT_ALLOWED = "method_not_allowed"
CONFLICT = "conflict"
TOO_LARGE = "too_large"
RATE_LIMITED = "rate_limited"
UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class ErrorKind:
    """How one code reaches a client: its HTTP status and the `code` of a WebSocket error frame."""

    http_status: int
    ws_code: str


_KINDS: dict[str, ErrorKind] = {
    INVALID: ErrorKind(400, INVALID),
    NOT_AUTHENTICATED: ErrorKind(401, NOT_AUTHENTICATED),
    TOKEN_INVALID: ErrorKind(401, NOT_AUTHENTICATED),
    FORBIDDEN: ErrorKind(403, FORBIDDEN),
    NOT_FOUND: ErrorKind(404, INVALID),
    METHOD_NOT_ALLOWED: ErrorKind(405, INVALID),
    CONFLICT: ErrorKind(409, INVALID),
    TOO_LARGE: ErrorKind(413, TOO_LARGE),
    RATE_LIMITED: ErrorKind(429, RATE_LIMITED),
    UNAVAILABLE: ErrorKind(503, UNAVAILABLE),
}


def define(code: str, *, http_status: int, ws_code: str = INVALID) -> str:
    """Register an app's own code (e.g. `already_promoted` → 409); returns the code for a constant."""
    existing = _KINDS.get(code)
    kind = ErrorKind(http_status, ws_code)
    if existing is not None and existing != kind:
        raise ValueError(f"error code {code!r} is already defined as {existing}")
    _KINDS[code] = kind
    return code


def code_for_status(status: int) -> str:
    """The base code of an HTTP status a framework chose (ninja's or Django's own refusals)."""
    for code in (INVALID, NOT_AUTHENTICATED, FORBIDDEN, NOT_FOUND, METHOD_NOT_ALLOWED, CONFLICT, TOO_LARGE,
                 RATE_LIMITED, UNAVAILABLE):
        if _KINDS[code].http_status == status:
            return code
    return INVALID if status < 500 else UNAVAILABLE


def kind_of(code: str) -> ErrorKind:
    return _KINDS.get(code, _KINDS[INVALID])


def http_status_of(code: str) -> int:
    return kind_of(code).http_status


def _join(items: tuple[Any, ...]) -> str:
    return ", ".join(str(item) for item in items)


_lazy_join = lazy(_join, str)


def listing(items: Iterable[Any]) -> str:
    """A `, `-joined list for a message's placeholder whose items are lazy translations (labels),
    rendered with the message in the caller's language (lazy: a `str` only to its type)."""
    return _lazy_join(tuple(items))


def invalid(field: str, message: str | Promise, *, code: str = INVALID, **params: Any) -> HubError:
    """The refusal of one request field, read as `field: problem` (`title: at most 200 characters.`).
    The field's name is the API's identifier and stays untranslated; the problem is translated once
    for every field it fits."""
    return HubError(code, message, fields=[field], prefix=field, **params)


class HubError(Exception):
    """A refusal with a named code and a message in the caller's language (see the module's doc)."""

    def __init__(self, code: str, message: str | Promise, *, fields: list[str] | None = None,
                 extra: dict[str, Any] | None = None, prefix: str | None = None, **params: Any) -> None:
        if code not in _KINDS:
            raise ValueError(f"unknown error code {code!r}: use hub.errors' constants or define()")
        self.code = code
        self.message = message
        self.fields = fields
        self.extra = extra or {}
        self.prefix = prefix
        self.params = params
        super().__init__(code)

    def render(self) -> str:
        """The message in the active language (the edge activates the caller's first)."""
        text = str(self.message)
        text = text % self.params if self.params else text
        return f"{self.prefix}: {text}" if self.prefix else text

    def __str__(self) -> str:
        return self.render()

    def body(self) -> dict[str, Any]:
        """The API's error body, rendered in the active language."""
        error: dict[str, Any] = {"code": self.code, "detail": self.render()}
        if self.fields:
            error["fields"] = self.fields
        error.update(self.extra)
        return {"error": error}

    @property
    def http_status(self) -> int:
        return http_status_of(self.code)

    @property
    def ws_code(self) -> str:
        return kind_of(self.code).ws_code
