"""The HTTP API (`/api/v1/`): one NinjaAPI instance; each app contributes a router.

django-ninja was chosen over DRF because the schema *is* the code: request and response types are
pydantic models checked at run time and rendered as the OpenAPI document at `/api/v1/schema`, and
views stay plain functions that call services (see docs/api.md).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext_lazy as _
from ninja import Field, NinjaAPI, Router, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError

from hub import errors
from hub.errors import HubError
from hub.lib.api_support import AUTH, BAD_TOKEN, DATABASE_UNAVAILABLE, ERRORS, ApiRenderer, ApiRequest
from hub.lib.validation import describe
from hub.models import Centre, WsTicket

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title="Inter-Centre Hub API",
    version="1",
    description="Topic channels, security alerts and cross-centre support requests of the MOU's ICT centres.",
    urls_namespace="api",
    auth=AUTH,
    openapi_url="/schema",
    docs_url="/docs",
    renderer=ApiRenderer(),
)


def _answer(request: HttpRequest, exc: HubError) -> HttpResponse:
    response = api.create_response(request, exc.body(), status=exc.http_status)
    if exc.http_status == 401:
        response["WWW-Authenticate"] = "Token"
    if exc.code == errors.RATE_LIMITED and "retry_after" in exc.extra:  # hub/lib/ratelimit.py
        response["Retry-After"] = str(exc.extra["retry_after"])
    return response


@api.exception_handler(HubError)
def on_hub_error(request: HttpRequest, exc: HubError) -> HttpResponse:
    """Every refusal, whoever raised it: its code's status, its message in the caller's language
    (hub.i18n chose it before the view ran)."""
    return _answer(request, exc)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """ninja's schema check (types, required and unknown fields): one translated line per field."""
    problems, fields = describe(exc.errors)
    return _answer(request, HubError(errors.INVALID, "%(problems)s", fields=fields, problems=problems))


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    """A wrong token is not a missing one: a script with a revoked key should be told so."""
    if getattr(request, BAD_TOKEN, False):
        if not request.headers.get("Authorization", "").startswith("Token "):
            return _answer(request, HubError(errors.TOKEN_INVALID, _(
                "The Authorization header must be `Token <key>`.")))
        return _answer(request, HubError(errors.TOKEN_INVALID, _(
            "This API token is not valid: it is unknown or revoked, or its owner was deactivated.")))
    return _answer(request, HubError(errors.NOT_AUTHENTICATED, _(
        "Authentication required: sign in, or send `Authorization: Token <key>`.")))


# What ninja itself refuses with a status of its own, in the caller's language.
_NINJA_REFUSALS = {
    "Cannot parse request body": _("The request body is not valid JSON."),
}


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    text = str(exc)
    message = next((m for prefix, m in _NINJA_REFUSALS.items() if text.startswith(prefix)), text)
    return _answer(request, HubError(errors.code_for_status(exc.status_code), message))


@api.exception_handler(MultiPartParserError)
def on_malformed_multipart(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
    """An upload whose multipart body does not parse (no boundary, a broken part): Django would answer
    an HTML 400. (Under daphne, Twisted refuses some such bodies itself, before the hub: docs/api.md.)"""
    return _answer(request, HubError(errors.INVALID, _("The request body is not valid multipart/form-data."),
                                     fields=["body"]))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _answer(request, HubError(errors.NOT_FOUND, _("Not found.")))


@api.exception_handler(RequestDataTooBig)
def on_body_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    """A body over HUB_MAX_REQUEST_BYTES: 413 before it is parsed (issue 20, class 7)."""
    return _answer(request, HubError(errors.TOO_LARGE, _("The request body is over the limit of %(limit)s bytes."),
                                     limit=settings.HUB_MAX_REQUEST_BYTES))


@api.exception_handler(DatabaseError)
def on_database_error(request: HttpRequest, exc: DatabaseError) -> HttpResponse:
    logger.exception("database unavailable while serving %s", request.path)
    return _answer(request, HubError(errors.UNAVAILABLE, DATABASE_UNAVAILABLE))


# --- the hub's own endpoints --------------------------------------------------------------------

router = Router(tags=["people"])


class CentreOut(Schema):
    code: str
    name_vi: str
    name_en: str
    province: str
    kind: str


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    email: str
    centre: CentreOut | None
    role: str
    roles: list[str]
    language: str = Field(description="The language this answer is in (Accept-Language, else `preference`).")
    preference: str = Field(description="The person's stored language choice; empty: none (Vietnamese).")


class TicketOut(Schema):
    ticket: str
    expires_in: int


def centre_out(centre: Centre | None) -> dict | None:
    if centre is None:
        return None
    return {
        "code": centre.code,
        "name_vi": centre.name_vi,
        "name_en": centre.name_en,
        "province": centre.province,
        "kind": centre.kind,
    }


@router.get("/me", response={200: MeOut, **ERRORS}, summary="The caller, their centre and roles")
def me(request: ApiRequest):
    user = request.auth
    from django.utils.translation import get_language

    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.get_display_name(),
        "email": user.email,
        "centre": centre_out(user.centre),
        "role": user.role,
        "roles": user.roles,
        "language": get_language() or "vi",
        "preference": user.language,
    }


class TlpOut(Schema):
    value: str
    label: str = Field(description="FIRST's label (never translated): TLP:CLEAR … TLP:RED.")
    colour: str = Field(description="FIRST's colour for the label's text, on a black background.")
    meaning: str = Field(description="What the marking asks of its recipients, in the caller's language.")


@router.get("/tlp", response={200: list[TlpOut], **ERRORS},
            summary="The TLP 2.0 markings, loosest first, as clients show them (hub/sharing.py)")
def tlp_markings(request: HttpRequest):
    from hub.sharing import ORDER, tlp_out

    return [tlp_out(value) for value in ORDER]


@router.get("/centres", response={200: list[CentreOut], **ERRORS}, summary="Every centre and partner")
def centres(request: ApiRequest):
    return [centre_out(c) for c in Centre.objects.all()]


@router.post("/ws-tickets", response={201: TicketOut, **ERRORS}, summary="A single-use WebSocket ticket")
def ws_ticket(request: ApiRequest, response: HttpResponse):
    from django.conf import settings

    token = getattr(request, "api_token", None)
    # Asked by a browser session: the ticket is bound to it, and opens a socket only with its cookie;
    # the socket then ends with the session — logout, "sign out everywhere", a new password (review
    # of 7 December, finding 5; hub.realtime.ws_auth).
    # (A session-authenticated request has a key; without one the ticket names no session there is.)
    session_key = None if token is not None else request.session.session_key or ""
    ticket = WsTicket.issue(request.auth, token=token, session_key=session_key)
    # A ticket is fetched to open a socket, which is a connection of its own: kept alive, the
    # ticket's HTTP connection only lingered (4-5 s), and in a reconnect storm hundreds of them held
    # their server objects while the sockets' were made, a peak the allocator keeps — ~4.5 KiB more
    # per idle socket afterwards (docs/benchmarks.md, "Where an idle socket's memory goes").
    response["Connection"] = "close"
    return Status(201, {"ticket": ticket, "expires_in": settings.WS_TICKET_TTL_SECONDS})


api.add_router("", router)


def _register_app_routers() -> None:
    """Each domain app owns `<app>/api.py` with a `router`; mounting them here keeps one API."""
    from importlib import import_module

    for module in ("chat.api", "alerts.api", "requests.api", "reports.api", "duty.api", "events.api",
                   "chat.receipts_api", "requests.seen_api", "notify.api"):
        try:
            mod = import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        api.add_router("", mod.router)


_register_app_routers()
