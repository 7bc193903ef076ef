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
