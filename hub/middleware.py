"""The hub's own middleware: the language (Vietnamese first) and two-step verification where required.

Vietnamese first: every request runs in the language `hub.i18n` chooses for its door.

Django's LocaleMiddleware would follow the browser's Accept-Language on pages, so an engineer whose
browser happens to be set to English would get English on their first visit. The hub's working
language is Vietnamese; English is there for those who choose it (the header's switch sets the
cookie and the person's preference). The API honours `Accept-Language` first (scripts set it on
purpose), then the person's preference once their token is known (`hub.i18n.after_auth`).
"""

import time
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation

from hub import i18n, metrics, twofactor
from hub.errors import HubError, invalid
from hub.lib.text import text_problem

API_PREFIX = "/api/"


class VietnameseFirstLocaleMiddleware(LocaleMiddleware):
    """Placed after AuthenticationMiddleware, so that pages can fall back on the person's preference."""

    def process_request(self, request: HttpRequest) -> None:
        if request.path_info.startswith(API_PREFIX):
            language = i18n.api_language_before_auth(request)
        else:
            language = i18n.page_language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class UnstorableCharactersMiddleware:
    """A request whose path or query string (decoded) holds a character no text column can (NUL, the
    other C0 controls: `hub.lib.text.text_problem`, the rule for stored text) is refused with a 400
    before any view runs: whatever a view looks up with it (a centre code, a ticket reference, a
    calendar token, `?q=`) would otherwise reach PostgreSQL, whose `text` refuses NUL (a DataError,
    which the API answers as "database unavailable" and a page as a 500). The API's error body under
    /api/, the message as plain text on pages; in the caller's language (placed after the locale's
    middleware). Bodies are the services' to clean (`clean_text`), with the save-time safety net."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        refusal = self.refusal(request)
        if refusal is None:
            return self.get_response(request)
        if request.path_info.startswith(API_PREFIX):
            return JsonResponse(refusal.body(), status=refusal.http_status)
        return HttpResponse(refusal.render(), status=refusal.http_status, content_type="text/plain; charset=utf-8")

    @staticmethod
    def refusal(request: HttpRequest) -> HubError | None:
        problem = text_problem(request.path_info)
        if problem is not None:
            return invalid("path", problem)
        for name, values in request.GET.lists():
            problem = text_problem(name)
            if problem is not None:
                return invalid("query", problem)
            for value in values:
                problem = text_problem(value)
                if problem is not None:
                    return invalid(name, problem)
        return None


class TwoFactorRequiredMiddleware:
    """A person whose role requires two-step verification (HUB_2FA_REQUIRED_ROLES) reaches nothing
    but their security page (to enrol) or the code page (to verify this session) until they have done
    so (hub/twofactor.py). The API over a session answers 401 instead (hub/lib/api_support.py); API
    tokens are unaffected; session WebSockets are refused (hub/realtime/identity.py)."""

    EXEMPT = ("/accounts/login/", "/accounts/logout/", "/accounts/security/", "/i18n/", "/jsi18n/",
              "/static/", "/healthz", "/api/")

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(self.EXEMPT):  # first: an API call by token loads no session user
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not twofactor.request_verified(request):
            target = "login-code" if twofactor.has_device(user) else "account-security"
            return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


class RequestMetricsMiddleware:
    """First in MIDDLEWARE: each request's time through Django, by the route pattern it resolved to
    (`api/v1/topics/<slug>/messages`, never the path itself: a label per URL would grow without end),
    for `GET /metrics` (hub/metrics.py). "unmatched" when no route matched (404s, static files)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = getattr(match, "route", None) or "unmatched"
        metrics.observe_http(route, request.method or "", response.status_code, time.perf_counter() - started)
        return response
