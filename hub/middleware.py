"""Vietnamese first: every request runs in the language `hub.i18n` chooses for its door.

Django's LocaleMiddleware would follow the browser's Accept-Language on pages, so an engineer whose
browser happens to be set to English would get English on their first visit. The hub's working
language is Vietnamese; English is there for those who choose it (the header's switch sets the
cookie and the person's preference). The API honours `Accept-Language` first (scripts set it on
purpose), then the person's preference once their token is known (`hub.i18n.after_auth`).
"""

from django.http import HttpRequest
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

from hub import i18n

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
