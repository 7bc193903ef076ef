"""Vietnamese first: the language is the one the user chose, else Vietnamese.

Django's LocaleMiddleware would follow the browser's Accept-Language, so an engineer whose browser
happens to be set to English would get English on their first visit. The hub's working language is
Vietnamese; English is there for those who choose it (the header's switch sets the cookie).
"""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.translation import check_for_language


class VietnameseFirstLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen and check_for_language(chosen) else settings.LANGUAGE_CODE
        language = translation.get_supported_language_variant(language)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class OneThreadPerRequest:
    """Innermost and sync-only, so that Django runs the whole middleware chain in one thread per request.

    Under ASGI every one of Django's own middlewares is "async capable", and in async mode each of
    their `process_request` / `process_response` hops to the request's thread and back: about
    seventeen round trips between the event loop and a thread per request with this chain. A
    sync-only middleware innermost makes Django adapt once instead (Django's "Asynchronous support":
    a thread per request when synchronous middleware is present); async views still run on the loop.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)
