"""Which language a caller is answered in: the one rule, for pages, the API and WebSockets.

The hub works in Vietnamese first; English is there for those who choose it. What counts as a choice
depends on the door a caller comes through:

| door | order (the first that names a supported language wins) |
| --- | --- |
| pages (`hub.middleware`) | the language cookie (the header's switch), the person's preference, Vietnamese |
| HTTP API (`/api/v1/`) | `Accept-Language`, the person's preference, the language cookie, Vietnamese |
| WebSocket frames | the person's preference, the language cookie of the handshake, Vietnamese |

Pages ignore `Accept-Language` on purpose: a browser set to English would otherwise turn the hub's
working language into English on an engineer's first visit. The API honours it first because a script
sets it deliberately; the web client sends the page's own language with every call (util.js), so a
browser's default never decides there either. The person's preference (`User.language`) is what the
language switch stores for a signed-in person and what a ticket-authenticated socket, which carries
no cookie, can go by. Error messages (hub/errors.py) are rendered in the language chosen here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header
from django.views.i18n import set_language as django_set_language

# request attribute: the API's language came from Accept-Language (the person's preference yields)
EXPLICIT = "_hub_language_explicit"


def supported(code: Any) -> str | None:
    """The supported language `code` names ("en-US" → "en"), or None."""
    if not isinstance(code, str) or not code or code == "*":
        return None
    try:
        return translation.get_supported_language_variant(code.strip())
    except LookupError:
        return None


def from_accept_language(header: str) -> str | None:
    """The caller's most preferred supported language in an `Accept-Language` header, or None."""
    for code, _quality in parse_accept_lang_header(header or ""):
        language = supported(code)
        if language is not None:
            return language
    return None


def preference_of(user: Any) -> str | None:
    """The person's stored preference (`User.language`; blank: none)."""
    return supported(getattr(user, "language", None)) if user is not None else None


def page_language(request: HttpRequest) -> str:
    cookie = supported(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))
    if cookie is not None:
        return cookie
    return preference_of(_signed_in(request)) or settings.LANGUAGE_CODE


def api_language_before_auth(request: HttpRequest) -> str:
    """The API's language while the caller is not yet known (their token is checked inside the API):
    `Accept-Language`, else the cookie, else Vietnamese. `after_auth` may then switch to the person's
    preference when the header named none."""
    header = from_accept_language(request.headers.get("Accept-Language", ""))
    if header is not None:
        setattr(request, EXPLICIT, True)
        return header
    return supported(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)) or settings.LANGUAGE_CODE


def after_auth(request: HttpRequest, user: Any) -> None:
    """Called by the API's authenticators once they know the caller: their preference beats the
    cookie, not an explicit `Accept-Language`."""
    if getattr(request, EXPLICIT, False):
        return
    language = preference_of(user)
    if language is not None and language != translation.get_language():
        translation.activate(language)
        request.LANGUAGE_CODE = language


def socket_language(scope: Mapping[str, Any], user: Any) -> str:
    """The language of a socket's error frames: the person's preference, else the cookie sent with
    the handshake, else Vietnamese."""
    language = preference_of(user)
    if language is not None:
        return language
    cookies = scope.get("cookies") or {}
    return supported(cookies.get(settings.LANGUAGE_COOKIE_NAME)) or settings.LANGUAGE_CODE


def _signed_in(request: HttpRequest) -> Any:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch (cookie and redirect), which for a signed-in person also stores the
    choice as their preference, so the API and their sockets follow it."""
    response = django_set_language(request)
    language = supported(request.POST.get("language")) if request.method == "POST" else None
    user = _signed_in(request)
    if language is not None and user is not None and getattr(user, "language", None) != language:
        get_user_model().objects.filter(pk=user.pk).update(language=language)
        user.language = language
    return response
