"""The pieces every API router shares: the error body's schema, authentication, JSON rendering and
cursor pagination.

Errors always look like `{"error": {"code": ..., "detail": ...}}` (see ../shared/CONTRACT.md), whatever
raised them: routers, services and selectors raise `hub.errors.HubError` and never build error
responses themselves (hub/api.py answers it).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
from django.conf import settings
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Schema
from ninja.renderers import BaseRenderer
from ninja.responses import NinjaJSONEncoder
from ninja.security import APIKeyCookie, APIKeyHeader
from ninja.utils import check_csrf
from pydantic import ConfigDict, WithJsonSchema

from hub import i18n, twofactor
from hub.errors import FORBIDDEN, INVALID, HubError
from hub.lib import ratelimit
from hub.lib.jsonutil import timestamp
from hub.models import ApiToken, User

# The database failed mid-request (HTTP 503, WebSocket error frame `unavailable`). Usually nothing
# was stored, but not always: when the connection drops after COMMIT was sent, PostgreSQL may have
# committed a change whose answer was lost (seen once in CI, docs/reliability.md), so the detail
# does not promise that nothing changed.
DATABASE_UNAVAILABLE = _("The database is unavailable; retry shortly. If it failed while saving, the change may "
                         "already be stored: a message re-sent with the same client_id is stored once.")
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50
# request attribute: an `Authorization: Token …` header was sent but named no live token
BAD_TOKEN = "_hub_bad_token"


class SignedInRequest(HttpRequest):
    """The request a page view behind `login_required` receives: `user` is a hub User, never
    AnonymousUser. A type for views' signatures only; at run time it is Django's HttpRequest."""

    user: User  # narrower than Django's AbstractBaseUser | AnonymousUser


class ApiRequest(SignedInRequest):
    """The request an API view receives once the caller is authenticated (`AUTH` below): ninja sets
    `auth`, the token authenticator `api_token` (None for a session), both `user`. A type for views'
    signatures only; at run time it is Django's HttpRequest."""

    auth: User
    api_token: ApiToken | None


class InSchema(Schema):
    """Every request body's base: a field the endpoint does not take is refused with a 400 naming it
    (`"attachments": [1]` on a message was silently dropped before), never ignored."""

    model_config = ConfigDict(extra="forbid")


class PersonOut(Schema):
    """Someone in an answer (an author, an actor, an assignee): one schema for every app, as
    `hub.realtime.frames.Person` is one type for every frame."""

    username: str
    display_name: str
    centre: str | None


class ErrorBody(Schema):
    code: str
    detail: str
    fields: list[str] | None = None


class ErrorOut(Schema):
    error: ErrorBody


# Responses every authenticated endpoint may give, for the OpenAPI document.
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 429: ErrorOut}


class TokenAuth(APIKeyHeader):
    """`Authorization: Token <key>` for scripts such as a SIEM."""

    param_name = "Authorization"

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        if not key:
            return None
        if not key.startswith("Token "):
            setattr(request, BAD_TOKEN, True)  # some other scheme: say how to send a token
            return None
        found = ApiToken.authenticate(key.removeprefix("Token ").strip())
        if found is None:
            setattr(request, BAD_TOKEN, True)  # a wrong token is not a missing one (hub/api.py)
            return None
        token, user = found
        request.user = user  # views and services see one user object whatever the auth
        request.api_token = token  # type: ignore[attr-defined]  # ApiRequest declares it for the views
        i18n.after_auth(request, user)
        return acting_user(request, user)


class SessionAuth(APIKeyCookie):
    """The browser's Django session; CSRF is enforced on unsafe methods.

    Unlike ninja's stock class, an anonymous caller gets 401 rather than a CSRF 403: the CSRF check
    only matters once a session actually authenticates the request.
    """

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        if not twofactor.request_verified(request):  # the role requires a second factor this session lacks
            return None
        if request.method not in SAFE_METHODS and check_csrf(request):
            raise HubError(FORBIDDEN, _("CSRF check failed: send the csrftoken cookie's value as X-CSRFToken."))
        i18n.after_auth(request, user)
        return acting_user(request, user)


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def acting_user(request: HttpRequest, user):
    """The request acts for `user` (hub/lib/ratelimit.py): domain actions charge them, and every unsafe
    method under /api/v1/ costs a `write` token — here, so an endpoint added tomorrow is limited too
    (429 + Retry-After; issue 20, class 6)."""
    ratelimit.begin_request(user.pk)
    if request.method not in SAFE_METHODS:
        ratelimit.charge("write")
    return user


AUTH = [TokenAuth(), SessionAuth()]


# --- JSON ------------------------------------------------------------------------------------------

_NINJA_ENCODER = NinjaJSONEncoder()
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return timestamp(value)  # the hub's one format, as in frames (hub.lib.jsonutil)
    return _NINJA_ENCODER.default(value)


def encode(data: Any) -> bytes:
    """The API's JSON: what ninja's own renderer writes (lazy translations as text, pydantic models as
    dicts), with every datetime in the hub's one timestamp format (`hub.lib.jsonutil.timestamp`),
    encoded by orjson: 0.28 instead of 0.39 ms for a page of 50 tickets. Unlike `json.dumps`,
    non-ASCII text is written as UTF-8 rather than `\\u` escapes; the content type says so."""
    return orjson.dumps(data, default=_default, option=_ORJSON_OPTIONS)


# A timestamp in an answer's schema (always `hub.lib.jsonutil.timestamp`'s form).
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time",
                                          "examples": ["2026-11-26T06:09:21.549Z"]})]


class ApiRenderer(BaseRenderer):
    """The NinjaAPI's renderer (hub/api.py): `encode` for every answer, errors included."""

    media_type = "application/json"

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> bytes:
        return encode(data)


# What ninja sends with the renderer's answers, so `trusted_json` answers cannot differ from them.
JSON_CONTENT_TYPE = f"{ApiRenderer.media_type}; charset={ApiRenderer.charset}"


def trusted_json(data: Any, status: int = 200) -> HttpResponse:
    """Answer with `data` as is, skipping ninja's validation of the response against its schema.

    Only for hot read endpoints whose payload the app's serialisers build already in the documented
    shape: re-validating a page of 50 tickets object by object cost as much CPU as the queries that
    read them. The schema stays declared (OpenAPI), and the endpoint's tests validate real answers
    against it (tests/requests/test_api.py, tests/chat/test_api.py), so the two cannot drift apart
    unnoticed."""
    return HttpResponse(encode(data), status=status, content_type=JSON_CONTENT_TYPE)


# --- cursor pagination ------------------------------------------------------------------------

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    results: list[T]
    next: str | None


def _encode_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, fields: list[str]) -> list[Any]:
    if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_CHARS:
        raise invalid_cursor()
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise invalid_cursor() from exc
    if not isinstance(values, list) or len(values) != len(fields):
        raise invalid_cursor()
    return values


def invalid_cursor() -> HubError:
    return HubError(INVALID, _("cursor: not a cursor this list gave out."), fields=["cursor"])


MAX_CURSOR_CHARS = 1024
_MAX_INT = 2**63 - 1  # ids and counters are 64-bit columns


def _cursor_value(model_field, value: Any) -> Any:
    """One decoded cursor value, checked against the column it seeks on as strictly as an id in a
    path: a dict, `null`, `"not-a-date"` or an out-of-range number reached the database and came back
    as a 500 (issue 20, class 7). Raises ValueError when it does not fit."""
    from django.db import models
    from django.utils.dateparse import parse_datetime

    if isinstance(model_field, models.DateTimeField):
        parsed = parse_datetime(value) if isinstance(value, str) and len(value) <= 40 else None
        if parsed is None:
            raise ValueError("not a date and time")
        return parsed
    if isinstance(model_field, (models.IntegerField, models.AutoField)):
        if isinstance(value, bool) or not isinstance(value, int) or not -_MAX_INT <= value <= _MAX_INT:
            raise ValueError("not an integer")
        return value
    if isinstance(model_field, (models.CharField, models.TextField)):
        from hub.lib.text import text_problem

        if not isinstance(value, str) or len(value) > (model_field.max_length or 1000) or text_problem(value):
            raise ValueError("not text")
        return value
    raise ValueError(f"cannot seek on {type(model_field).__name__}")


def cursor_values(model, cursor: str, fields: list[str]) -> list[Any]:
    """`decode_cursor` for a keyset over `model`'s `fields`, each value checked against its column."""
    values = decode_cursor(cursor, fields)
    try:
        return [_cursor_value(model._meta.get_field(name), value) for name, value in zip(fields, values, strict=True)]
    except (ValueError, TypeError) as exc:
        raise invalid_cursor() from exc


def clamp_limit(limit: int | None, default: int = DEFAULT_PAGE_SIZE) -> int:
    if limit is None:
        return default
    if limit < 1 or limit > MAX_PAGE_SIZE:
        raise HubError(INVALID, _("limit: between 1 and %(max)s."), fields=["limit"], max=MAX_PAGE_SIZE)
    return limit


def keyset_page(qs: QuerySet, order: list[str], cursor: str | None, limit: int | None) -> Page:
    """Keyset ("seek") pagination over `order` (e.g. ["-updated_at", "-id"]); the last field must
    be unique. Unlike offsets, a page never repeats or skips rows when rows are added meanwhile."""
    limit = clamp_limit(limit)
    qs = qs.order_by(*order)
    fields = [f.lstrip("-") for f in order]
    if cursor:
        values = cursor_values(qs.model, cursor, fields)
        # (a, b) after (x, y) in the sort order == a beyond x OR (a == x AND b beyond y) ...
        condition = Q()
        for i, spec in enumerate(order):
            field = fields[i]
            op = "lt" if spec.startswith("-") else "gt"
            step = Q(**{f"{field}__{op}": values[i]})
            for j in range(i):
                step &= Q(**{fields[j]: values[j]})
            condition |= step
        qs = qs.filter(condition)
    rows = list(qs[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if has_more and rows:
        last = rows[-1]
        next_cursor = encode_cursor([getattr(last, f) for f in fields])
    return Page(results=rows, next=next_cursor)
