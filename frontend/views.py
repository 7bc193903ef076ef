"""The pages people bookmark. Views stay thin: they check who may see the page and render a shell;
the live parts (messages, alerts, tickets) are filled by the JavaScript client from the JSON API and
the WebSockets, so the browser and integration scripts use exactly the same interface.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from alerts.selectors import may_raise
from hub.errors import INVALID, HubError, invalid
from hub.lib.api_support import SignedInRequest
from hub.lib.rendering import render_markdown
from hub.lib.text import clean_text
from hub.models import Role
from hub.realtime.identity import access_digest

MANAGER_ROLES = (Role.MANAGER, Role.HUB_ADMIN)
ALERT_ACK_ROLES = (Role.SECURITY_OFFICER, Role.MANAGER)


def hub_user(user) -> dict:
    """What the client needs to know about the viewer (never a secret: it is the viewer's own data)."""
    return {
        "username": user.username,
        "display_name": user.get_display_name(),
        "centre": user.centre.code if user.centre is not None else None,
        "role": user.role,
        "roles": user.roles,
        "can_raise_alerts": may_raise(user),
        "can_ack_alerts": user.has_role(*ALERT_ACK_ROLES) and bool(user.centre_id),
        "is_manager": user.has_role(*MANAGER_ROLES),
        # Security staff see every centre's duty state on the home page (docs/duty.md).
        "sees_duty": user.has_role(Role.SECURITY_OFFICER, *MANAGER_ROLES),
        "max_body_bytes": settings.HUB_MAX_BODY_BYTES,
        # Files in chat: the hub's upload rule (hub/lib/uploads.py); the server checks again.
        "max_file_bytes": settings.REQUESTS_ATTACHMENT_MAX_BYTES,
        "max_files": settings.HUB_CHAT_MAX_FILES,
        # What the page was rendered with: its sockets send it back (socket.js), and a socket whose
        # person's rights differ now makes the page reload (docs/ui.md, "When your access changes").
        "access": access_digest(user),
    }


def seen(user, **item) -> None:
    """The person opened the item: its notifications are seen (and not emailed: the unseen rule)."""
    from notify.services import mark_seen

    mark_seen(user=user, **item)


def page(request: HttpRequest, template: str, **context) -> HttpResponse:
    context.setdefault("hub_user", hub_user(request.user))
    return render(request, template, context)


def _topic_or_404(user, slug: str):
    """The topic if the chat app knows it and the user may see it; 404 otherwise (never reveal
    that a restricted topic exists)."""
    try:
        from chat.models import Topic
        from chat.selectors import can_view_topic
    except ImportError:  # chat not installed yet: the socket answers 4404 for unknown topics
        return None
    topic = Topic.objects.filter(slug=slug).first()
    if topic is None or not can_view_topic(user, topic):
        raise Http404("No such topic.")
    return topic


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return page(request, "frontend/home.html")


@login_required
def topic(request: HttpRequest, slug: str) -> HttpResponse:
    topic_obj = _topic_or_404(request.user, slug)
    name, description, default_tlp, kind = slug, "", "clear", "channel"
    if topic_obj is not None:
        name, description = topic_obj.name or slug, topic_obj.localized_description
        default_tlp, kind = topic_obj.default_tlp, topic_obj.kind
    return page(request, "frontend/topic.html", slug=slug, topic_name=name, topic_description=description,
                default_tlp=default_tlp, topic_kind=kind)


@login_required
def search(request: SignedInRequest) -> HttpResponse:
    """Search across every topic and conversation the person may read (docs/chat.md, "Search");
    the results come from GET /api/v1/search, through the same visibility rule."""
    from chat.models import Topic
    from chat.selectors import visible_topics
    from hub.models import Centre

    # The topic filter offers channels and conversations; request threads are searched with "all".
    topics = [t for t in visible_topics(request.user, kind=None) if t.kind != Topic.Kind.TICKET]
    return page(request, "frontend/search.html", topics=topics, centres=Centre.objects.order_by("code"))


@login_required
def alerts(request: HttpRequest) -> HttpResponse:
    return page(request, "frontend/alerts.html")


@login_required
def alert_detail(request: HttpRequest, alert_id: int) -> HttpResponse:
    from alerts.selectors import visible_alerts

    # The same 404 as the API whether the alert does not exist or is outside the caller's TLP audience.
    if not visible_alerts(request.user).filter(pk=alert_id).exists():
        raise Http404
    seen(request.user, alert_id=alert_id)
    return page(request, "frontend/alert_detail.html", alert_id=alert_id)


@login_required
def tickets(request: HttpRequest) -> HttpResponse:
    return page(request, "frontend/tickets.html")


@login_required
def ticket_new(request: HttpRequest) -> HttpResponse:
    return page(request, "frontend/ticket_new.html")


@login_required
def ticket_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    from requests.selectors import visible_tickets

    visible = visible_tickets(request.user)
    merged_into = visible.filter(pk=ticket_id).values_list("merged_into", flat=True).first()
    if merged_into is None and not visible.filter(pk=ticket_id).exists():
        raise Http404
    seen(request.user, ticket_id=ticket_id)
    from requests.seen import record_view

    ticket = visible.filter(pk=ticket_id).select_related("requesting_centre", "target_centre").first()
    if ticket is not None:
        record_view(ticket, request.user)  # "the other centre has seen the latest comment" (docs/duty.md)
    # A merged duplicate's address leads to the request it was merged into (for those who may read
    # that one; the others see the read-only pointer; `?stay=1` shows the pointer itself).
    if merged_into is not None and not request.GET.get("stay") and visible.filter(pk=merged_into).exists():
        return redirect(f"/tickets/{merged_into}/?merged_from={ticket_id}")
    return page(request, "frontend/ticket_detail.html", ticket_id=ticket_id)


@login_required
def ticket_templates(request: HttpRequest) -> HttpResponse:
    """The centres' request templates; managers keep their own centre's here."""
    return page(request, "frontend/ticket_templates.html")


def _render_preview(text: str) -> str:
    """Render like the chat app renders a message (mentions included) when it offers that, so the
    preview is exactly what others will see."""
    try:
        from chat.rendering import render_body
    except ImportError:
        return render_markdown(text)
    return render_body(text).html


def _refuse(error: HubError) -> JsonResponse:
    """The API's error body (hub/errors.py) for the page endpoints that answer JSON."""
    return JsonResponse(error.body(), status=error.http_status)


@login_required
@require_POST
def markdown_preview(request: HttpRequest) -> JsonResponse:
    """POST {"body": "..."} → {"html": "..."}: the sanitised rendering, for the composer's preview. The
    body passes the same text rule as a message (hub/lib/text.py): a 400 or 413, never a 500."""
    try:
        payload = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):
        return _refuse(HubError(INVALID, _("The request body is not valid JSON.")))
    body = payload.get("body") if isinstance(payload, dict) else None
    if not isinstance(body, str):
        return _refuse(invalid("body", _("must be a string.")))
    try:  # the text rule of a message (hub/lib/text.py): a 400 or 413, never a 500
        clean_text(body, field="body", max_bytes=settings.HUB_MAX_BODY_BYTES, required=False)
    except HubError as exc:
        return _refuse(exc)
    return JsonResponse({"html": _render_preview(body)})


@login_required
def person(request: HttpRequest, username: str) -> HttpResponse:
    """Where an @username mention links: who the person is and where they work. Colleagues across
    the MOU's centres may see each other's name, centre and role (nothing else is shown: contact
    details follow `hub.selectors.sees_contact_details`)."""
    from hub.models import User

    found = User.objects.select_related("centre").filter(username=username, is_active=True).first()
    if found is None:
        raise Http404
    return page(request, "frontend/person.html", person=found)


@login_required
def centre(request: HttpRequest, code: str) -> HttpResponse:
    """Where an @CENTRE mention links: the centre and its people."""
    from hub.models import Centre, User

    found = Centre.objects.filter(code=code.upper()).first()
    if found is None:
        raise Http404
    people = User.objects.filter(centre=found, is_active=True).order_by("role", "username")
    return page(request, "frontend/centre.html", centre=found, people=people)
