"""Signing in, with a second factor where the person has one, and the person's own security page.

Thin views over hub/twofactor.py (the rules) and django-axes (the lockout). The flow:

1. `/accounts/login/` — username and password (Django's form; axes counts failures). A person with a
   confirmed authenticator is *not* signed in yet: who they are is kept in the session for a few
   minutes and they go to step 2. Anyone else is signed in; if their role requires a second factor,
   the hub then only lets them reach their security page to enrol (hub/middleware.py).
2. `/accounts/login/code/` — a code from the authenticator, or a recovery code. Right: signed in and
   the session is verified (`django_otp.login`). Wrong: a failed sign-in for axes, like a wrong
   password, so the same lockout ends guessing.
3. `/accounts/security/` — enrol (QR code and key, confirm with a code; recovery codes shown once),
   new recovery codes, turn it off (only where the role allows), change password, sign out the other
   sessions (their sockets close, hub/services.py).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import segno
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django.contrib import messages
from django.contrib.auth import get_user_model, login, user_login_failed
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django_otp import login as otp_login

from hub import twofactor
from hub.lib.api_support import SignedInRequest
from hub.services import end_sessions

PENDING = "hub_2fa_pending"  # session key: who passed step 1, with which backend, going where, when
PENDING_SECONDS = 300


def _safe_next(request: HttpRequest, url: str | None) -> str:
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return url
    return reverse("home")


class SignInView(auth_views.LoginView):
    """Step 1: the password. Django's LoginView, except that a person with an authenticator goes on to
    the code page instead of being signed in."""

    def form_valid(self, form):
        user = form.get_user()
        if not twofactor.has_device(user):
            login(self.request, user)
            if twofactor.required_for(user):
                messages.info(self.request, _("Your role requires two-step verification: set it up to continue."))
                return redirect(f"{reverse('account-security')}?{urlencode({'next': self.get_success_url()})}")
            return redirect(self.get_success_url())
        self.request.session.cycle_key()
        self.request.session[PENDING] = {"user": user.pk, "backend": user.backend,
                                         "next": self.get_success_url(), "at": time.time()}
        return redirect("login-code")


def _pending_user(request: HttpRequest) -> tuple[Any, dict] | None:
    """(person, pending) for the code step: the one who passed the password step a moment ago, or the
    person already signed in whose session still lacks its second factor."""
    if request.user.is_authenticated:
        return request.user, {"next": request.GET.get("next") or request.POST.get("next")}
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    user_id = pending.get("user")
    if user_id is None:
        return None
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    return (user, pending) if user is not None else None


def login_code(request: HttpRequest) -> HttpResponse:
    """Step 2: a code from the authenticator or a recovery code."""
    found = _pending_user(request)
    if found is None:
        messages.info(request, _("Sign in with your password first."))
        return redirect("login")
    user, pending = found
    credentials = {"username": user.get_username()}
    if not AxesProxyHandler.is_allowed(request, credentials):
        return get_lockout_response(request, credentials)
    error = None
    if request.method == "POST":
        device = twofactor.verify(user, request.POST.get("code"))
        if device is None:
            # Counted by axes like a wrong password: the lockout that ends password guessing ends this.
            user_login_failed.send(sender=__name__, credentials=credentials, request=request)
            if getattr(request, "axes_locked_out", False):
                return get_lockout_response(request, credentials)
            error = _("That code is not right, or was already used. Try the code your app shows now.")
        else:
            if not request.user.is_authenticated:
                user.backend = pending["backend"]
                request.session.pop(PENDING, None)
                login(request, user)
            otp_login(request, device)
            return redirect(_safe_next(request, pending.get("next")))
    return render(request, "registration/login_code.html", {"error": error, "next": pending.get("next") or ""},
                  status=400 if error else 200)


@login_required
def security(request: SignedInRequest) -> HttpResponse:
    """The person's own security page (enrolment and recovery codes; see the module's docstring)."""
    user = request.user
    context: dict[str, Any] = {"next": request.GET.get("next") or request.POST.get("next") or ""}
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "start":
        context["enrolling"] = True
    elif action == "confirm":
        confirmed = twofactor.confirm_enrolment(user, request.POST.get("code") or "")
        if confirmed is None:
            context.update(enrolling=True, error=_("That code is not right. Enter the code your app shows now."))
        else:
            device, context["recovery_codes"] = confirmed
            otp_login(request, device)  # this session is verified from now on
            messages.success(request, _("Two-step verification is on."))
    elif action == "recovery" and twofactor.has_device(user):
        context["recovery_codes"] = twofactor.new_recovery_codes(user)
    elif action == "disable" and twofactor.has_device(user):
        if twofactor.required_for(user):
            context["error"] = _("Your role requires two-step verification; it cannot be turned off.")
        elif twofactor.verify(user, request.POST.get("code")) is None:
            context["error"] = _("That code is not right.")
        else:
            twofactor.disable(user)
            messages.success(request, _("Two-step verification is off."))
            return redirect("account-security")
    elif action == "signout-others":
        ended = end_sessions(user, keep=request.session.session_key)
        messages.success(request, _("%(n)s other session(s) signed out.") % {"n": ended})
        return redirect("account-security")
    if context.get("enrolling"):
        device = twofactor.pending_enrolment(user)
        context["qr"] = segno.make(device.config_url, error="m").svg_data_uri(scale=4, border=2)
        context["secret"] = twofactor.readable_key(device)
    context.update(
        has_device=twofactor.has_device(user),
        required=twofactor.required_for(user),
        verified=twofactor.request_verified(request) and twofactor.has_device(user),
        codes_left=twofactor.recovery_codes_left(user),
    )
    status = 400 if context.get("error") else 200
    return render(request, "frontend/security.html", context, status=status)
