from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.i18n import JavaScriptCatalog

from frontend import signin, views

urlpatterns = [
    path("accounts/login/", signin.SignInView.as_view(), name="login"),
    path("accounts/login/code/", signin.login_code, name="login-code"),
    path("accounts/security/", signin.security, name="account-security"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Django keeps the session that changes the password and ends the others (and their sockets).
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["frontend"]), name="javascript-catalog"),
    path("", views.home, name="home"),
    path("topics/<slug:slug>/", views.topic, name="topic"),
    path("search/", views.search, name="search"),
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/<int:alert_id>/", views.alert_detail, name="alert"),
    path("tickets/", views.tickets, name="tickets"),
    path("tickets/new/", views.ticket_new, name="ticket-new"),
    path("tickets/templates/", views.ticket_templates, name="ticket-templates"),
    path("tickets/<int:ticket_id>/", views.ticket_detail, name="ticket"),
    path("ui/preview", views.markdown_preview, name="markdown-preview"),
    # Where mentions link (chat renders @user as /people/<username>/ and @CODE as /centres/<code>/).
    path("people/<str:username>/", views.person, name="person"),
    path("centres/<str:code>/", views.centre, name="centre"),
]
