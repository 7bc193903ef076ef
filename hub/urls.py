from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from hub import i18n
from hub.api import api
from hub.server.health import healthz
from hub.server.metrics import metrics_view

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("api/v1/", api.urls),
    # The admin signs in through the hub's own sign-in (with its second factor), not a form of its own.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/", admin.site.urls),
    # Django's language switch, which also stores a signed-in person's choice (hub/i18n.py).
    path("i18n/setlang/", i18n.set_language, name="set_language"),
    # The managers' pages come first so that they own /dashboard/ and the exports.
    path("", include("reports.urls")),
    path("", include("notify.urls")),
    path("", include("duty.urls")),
    path("", include("events.urls")),
    path("", include("frontend.urls")),
]
