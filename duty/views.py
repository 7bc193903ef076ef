"""The duty page (`/duty/`, `/duty/<code>/`) and the private calendar feeds (`/calendar/<token>.ics`).

The page is a shell like the hub's other pages: every centre's duty state, the viewer's own
"confirm on duty" card (`startMyDuty`), and one centre's roster in a week or month view are drawn by
`frontend/static/frontend/js/duty.js` from the API (`duty/api.py`) and kept live by the `duty`
frames of the notifications stream. The view only decides which centre is shown and what the
viewer may do there.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone

from duty import ical
from duty.selectors import may_manage_roster, shifts_between
from frontend.views import page
from hub.lib.api_support import SignedInRequest
from hub.models import CalendarFeed, Centre


@login_required
def duty_page(request: SignedInRequest, code: str | None = None) -> HttpResponse:
    user = request.user
    if code is None:
        centre = user.centre or Centre.objects.order_by("code").first()
    else:
        centre = Centre.objects.filter(code=code.upper()).first()
    if centre is None:
        raise Http404
    config = {"centre": centre.code, "can_manage": may_manage_roster(user, centre)}
    return page(request, "duty/duty.html", centre=centre, centres=Centre.objects.order_by("code"),
                duty_config=config)


def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """A subscribed calendar app's request: the secret token is the only credential (no session)."""
    feed = CalendarFeed.objects.select_related("centre", "user").filter(token=token, revoked_at__isnull=True).first()
    if feed is None:
        raise Http404
    if feed.kind == CalendarFeed.Kind.DUTY and feed.centre is not None:
        today = timezone.localdate()
        tz = timezone.get_current_timezone()
        start = datetime.combine(today - timedelta(days=31), datetime.min.time(), tzinfo=tz)
        end = datetime.combine(today + timedelta(days=366), datetime.min.time(), tzinfo=tz)
        # The centre's own feed (only its managers give the address out): read as by the centre.
        body = ical.roster_calendar(feed.centre, shifts_between(feed.centre, start, end), reader=feed.centre)
    elif feed.kind == CalendarFeed.Kind.EVENTS and feed.user is not None and feed.user.is_active:
        from events.ical import events_calendar_for

        body = events_calendar_for(feed.user)
    else:
        raise Http404
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response
