"""The pages: notification preferences, the webhooks of a centre, and the one-click unsubscribe.

Thin views: read the form, call notify.services / notify.webhooks, render. Refusals (HubError) are
shown on the page in the reader's language; nothing half-changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from hub.errors import HubError
from hub.lib.api_support import SignedInRequest
from hub.lib.inputs import number_or_none, parse_id
from notify import preferences as prefs
from notify import selectors, services, webhooks
from notify.models import Channel, Digest, Kind, TopicLevel, WebhookEvent, WebhookTlp
from notify.serializers import preferences_out
from notify.tokens import BadToken, read_unsubscribe_token

DAYS = [(0, gettext_lazy("Mon")), (1, gettext_lazy("Tue")), (2, gettext_lazy("Wed")), (3, gettext_lazy("Thu")),
        (4, gettext_lazy("Fri")), (5, gettext_lazy("Sat")), (6, gettext_lazy("Sun"))]


def _page(request: SignedInRequest, template: str, **context: Any) -> HttpResponse:
    from frontend.views import hub_user

    context.setdefault("hub_user", hub_user(request.user))
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: SignedInRequest) -> HttpResponse:
    from chat.selectors import visible_topics

    user = request.user
    if request.method == "POST":
        try:
            if request.POST.get("action") == "test":
                services.send_test_email(user=user)
                messages.success(request, _("A test email is on its way to %(email)s.") % {"email": user.email})
            else:
                services.update_preferences(
                    user=user,
                    channels={kind: request.POST[f"channel-{kind}"] for kind in Kind.values
                              if f"channel-{kind}" in request.POST},
                    language=request.POST.get("language") or None,
                    quiet_hours=request.POST.get("quiet_hours") == "on",
                    own_hours=request.POST.get("hours") == "own",
                    work_start=request.POST.get("work_start") or None,
                    work_end=request.POST.get("work_end") or None,
                    work_days=[number_or_none(d, low=0) for d in request.POST.getlist("work_days")],  # None: refused
                    digest=request.POST.get("digest") or None,
                    topics={key.removeprefix("topic-"): request.POST.get(key, "") for key in request.POST
                            if key.startswith("topic-")},
                )
                messages.success(request, _("Your notification settings are saved."))
            return redirect("notify-preferences")
        except HubError as exc:
            messages.error(request, exc.render())
    current = preferences_out(user)
    labels = dict(Channel.choices)
    kinds = [{"kind": kind, "label": label, "channel": current["channels"][kind],
              "default": current["defaults"][kind],
              "options": [(c, labels[c]) for c in prefs.OFFERED[kind]]} for kind, label in Kind.choices]
    topics = [{"topic": t, "level": current["topics"].get(t.slug, TopicLevel.ALL)} for t in visible_topics(user)]
    return _page(request, "notify/preferences.html", prefs=current, kinds=kinds, topics=topics,
                 languages=[(code, _language_name(code)) for code, _name in settings.LANGUAGES],
                 digests=Digest.choices, levels=TopicLevel.choices, days=DAYS,
                 may_manage_webhooks=selectors.may_manage_webhooks(user))


@login_required
@require_http_methods(["GET", "POST"])
def webhook_list(request: SignedInRequest) -> HttpResponse:
    from chat.selectors import visible_topics

    user = request.user
    if not selectors.may_manage_webhooks(user):
        raise Http404
    form: Mapping[str, Any] = {}
    if request.method == "POST":
        action = request.POST.get("action", "create")
        try:
            if action == "create":
                form = request.POST
                webhook, secret = webhooks.register_webhook(
                    user=user, url=request.POST.get("url", ""), events=request.POST.getlist("events"),
                    secret=request.POST.get("secret") or None, topics=request.POST.getlist("topics"),
                    name=request.POST.get("name", ""), max_tlp=request.POST.get("max_tlp") or None)
                messages.success(request, _("Webhook registered. Its secret (shown only now): %(secret)s")
                                 % {"secret": secret})
            else:
                webhook_id = parse_id(request.POST.get("webhook"), field="webhook")
                if action == "test":
                    webhooks.send_test(user=user, webhook_id=webhook_id)
                    messages.success(request, _("A test delivery is queued; its result appears in the log."))
                elif action == "pause":
                    webhooks.update_webhook(user=user, webhook_id=webhook_id, active=False)
                elif action == "resume":
                    webhooks.update_webhook(user=user, webhook_id=webhook_id, active=True)
                elif action == "delete":
                    webhooks.delete_webhook(user=user, webhook_id=webhook_id)
                    messages.success(request, _("Webhook deleted."))
            return redirect("notify-webhooks")
        except HubError as exc:
            messages.error(request, exc.render())
    hooks = [{"webhook": w, "deliveries": selectors.deliveries_of(w, limit=10)} for w in selectors.webhooks_of(user)]
    return _page(request, "notify/webhooks.html", hooks=hooks, events=WebhookEvent.choices, tlps=WebhookTlp.choices,
                 topics=visible_topics(user), form=form)


@csrf_exempt  # RFC 8058: the mail client POSTs without a session; the signed token is the authority
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a confirmation button (link scanners prefetch GETs); POST, from that button or from
    the mail client's one-click ("List-Unsubscribe=One-Click"), stops that kind of email."""
    try:
        user_id, what = read_unsubscribe_token(token)
    except BadToken:
        raise Http404 from None
    if request.method == "POST":
        user = services.unsubscribe(user_id=user_id, what=what)
        if user is None:
            raise Http404
        return render(request, "notify/unsubscribed.html", {"done": True, "what": _what_label(what)})
    return render(request, "notify/unsubscribed.html", {"done": False, "what": _what_label(what)})


def _language_name(code: str) -> str:
    """Each language in its own name, as people look for it."""
    return {"vi": "Tiếng Việt", "en": "English"}.get(code, code)


def _what_label(what: str) -> str:
    if what == "digest":
        return _("the digest")
    if what == "batch":
        return _("emails about mentions and requests")
    return str(dict(Kind.choices).get(what, what))
