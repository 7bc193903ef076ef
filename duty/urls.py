from django.urls import path

from duty import views

urlpatterns = [
    path("duty/", views.duty_page, name="duty"),
    path("duty/<str:code>/", views.duty_page, name="duty-centre"),
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar-feed"),
]
