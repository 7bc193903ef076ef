from django.contrib import admin
from django.urls import include, path

from hub.api import api
from hub.server.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    # The managers' pages come first so that they own /dashboard/ and the exports.
    path("", include("reports.urls")),
    path("", include("notify.urls")),
    path("", include("frontend.urls")),
]
