"""The events calendar page (`/events/`): a shell; `frontend/static/frontend/js/events.js` draws the
month and list views from `GET /api/v1/events` and registers through the API."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse

from events.models import Event
from events.selectors import may_organise
from frontend.views import page
from hub.lib.api_support import SignedInRequest
from hub.models import Centre


@login_required
def events_page(request: SignedInRequest) -> HttpResponse:
    config = {"can_organise": may_organise(request.user), "is_admin": request.user.is_hub_admin}
    return page(request, "events/events.html", events_config=config, kinds=Event.Kind.choices,
                centres=Centre.objects.order_by("code"))
