"""The managers' pages and files; included by hub/urls.py BEFORE the frontend's URLs so that these
own /dashboard/ and the exports."""

from django.urls import path

from reports import views

urlpatterns = [
    path("dashboard/", views.dashboard_page, name="dashboard"),
    path("dashboard/export.<str:fmt>", views.dashboard_export, name="dashboard-export"),
    path("tickets/export.<str:fmt>", views.tickets_export, name="tickets-export"),
    path("reports/cooperation/<int:year>/", views.cooperation_page, name="cooperation-report"),
    path("reports/cooperation/<int:year>.pdf", views.cooperation_pdf, name="cooperation-report-pdf"),
]
