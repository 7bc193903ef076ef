from django.urls import path

from notify import views

urlpatterns = [
    path("settings/notifications/", views.preferences, name="notify-preferences"),
    path("settings/webhooks/", views.webhook_list, name="notify-webhooks"),
    path("notifications/unsubscribe/<str:token>/", views.unsubscribe, name="notify-unsubscribe"),
]
