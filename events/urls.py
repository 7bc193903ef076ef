from django.urls import path

from events import views

urlpatterns = [
    path("events/", views.events_page, name="events"),
]
