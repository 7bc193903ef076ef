"""Reading alerts: who may see which (TLP), who must acknowledge, and the views built on that.

`audience_for` is THE rule; `visible_alerts` is the same rule as a database filter, and a test checks
that the two agree for every (TLP, role, centre) combination. Every read path — list, detail, search,
the web pages, the socket (through the audience on the broadcast) and the summary message in the
security topic — goes through one of the two.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from alerts.models import Acknowledgement, Alert, AlertEvent, Escalation, Severity, Status, Tlp
from hub.errors import NOT_FOUND, HubError, invalid
from hub.lib.jsonutil import timestamp
from hub.models import Centre, Role
from hub.realtime.audience import EVERYONE, Audience
from hub.realtime.frames import Person

# Who receives TLP:AMBER, and who may acknowledge for a centre.
AMBER_ROLES = frozenset({Role.SECURITY_OFFICER.value, Role.MANAGER.value})
ACK_ROLES = AMBER_ROLES
RAISE_ROLES = frozenset({Role.SECURITY_OFFICER.value, Role.HUB_ADMIN.value})
MAX_QUERY = 200


def fold(text: str) -> str:
    """Lower case without diacritics (đ → d): the form both stored search text and queries take."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def red_centre_codes(alert: Alert) -> frozenset[str]:
    codes = {c.code for c in alert.shared_with.all()}
    if alert.centre is not None:
        codes.add(alert.centre.code)
    return frozenset(codes)


def audience_for(alert: Alert) -> Audience:
    """clear/green: everyone; amber: security officers and managers of every centre; red: the raising
    centre and the centres named in `shared_with`. Hub admins always (Audience.allows)."""
    if alert.tlp in (Tlp.CLEAR, Tlp.GREEN):
        return EVERYONE
    if alert.tlp == Tlp.AMBER:
        return Audience(roles=AMBER_ROLES)
    return Audience(centres=red_centre_codes(alert))


def recipient_centres(alert: Alert) -> QuerySet[Centre]:
    """The centres expected to acknowledge: every centre the TLP reaches, except the raising one
    (it knows already)."""
    if alert.tlp == Tlp.RED:
        qs = alert.shared_with.all()
    else:
        qs = Centre.objects.all()
    if alert.centre_id:
        qs = qs.exclude(pk=alert.centre_id)
    return qs.order_by("code")


def visible_alerts(user: Any) -> QuerySet[Alert]:
    """`audience_for(alert).allows(user)` as a filter (kept in step by tests/alerts/test_tlp.py)."""
    qs = Alert.objects.select_related("raised_by", "raised_by__centre", "centre")
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return qs.none()
    if user.is_hub_admin:
        return qs
    condition = Q(tlp__in=[Tlp.CLEAR, Tlp.GREEN])
    if user.has_role(*AMBER_ROLES):
        condition |= Q(tlp=Tlp.AMBER)
    if user.centre_id:
        shared = Alert.shared_with.through.objects.filter(centre_id=user.centre_id).values("alert_id")
        condition |= Q(tlp=Tlp.RED) & (Q(centre_id=user.centre_id) | Q(pk__in=shared))
    return qs.filter(condition)


def get_visible_alert(user: Any, alert_id: int) -> Alert:
    """The alert, or 404 — also when it exists but the caller may not see it (never reveal existence)."""
    alert = visible_alerts(user).prefetch_related("indicators", "shared_with").filter(pk=alert_id).first()
    if alert is None:
        raise HubError(NOT_FOUND, _("No such alert."))
    return alert


def search_alerts(
    user: Any, *, q: str = "", status: str | None = None, severity: str | None = None, tlp: str | None = None,
    centre: str | None = None,
) -> QuerySet[Alert]:
    """Filters of `GET /api/v1/alerts`; `q` matches every word, accents ignored ("an toan" → "an toàn")."""
    if len(q) > MAX_QUERY:
        raise invalid("q", _("at most %(n)s characters."), n=MAX_QUERY)
    qs = visible_alerts(user)
    for name, value, choices in (("status", status, Status), ("severity", severity, Severity), ("tlp", tlp, Tlp)):
        if value:
            if value not in choices.values:
                raise invalid(name, _("must be one of %(values)s."), values=", ".join(choices.values))
            qs = qs.filter(**{name: value})
    if centre:
        qs = qs.filter(centre__code=centre.upper())
    for word in fold(q).split():
        qs = qs.filter(search_text__contains=word)
    return qs


def acknowledgement_matrix(alert: Alert) -> list[dict[str, Any]]:
    """Every recipient centre with `acknowledged` (by whom, when) or `pending`, and how far it escalated."""
    acks = {
        a.centre_id: a for a in Acknowledgement.objects.filter(alert=alert).select_related("user", "centre")
    }
    steps: dict[int, int] = {}
    for centre_id, step in Escalation.objects.filter(alert=alert).values_list("centre_id", "step"):
        steps[centre_id] = max(step, steps.get(centre_id, 0))
    rows = []
    for centre in recipient_centres(alert):
        ack = acks.get(centre.id)
        rows.append(
            {
                "centre": centre.code,
                "centre_name": centre.name,
                "status": "acknowledged" if ack else "pending",
                "by": person_out(ack.user) if ack else None,
                "at": timestamp(ack.at) if ack else None,
                "escalation_step": steps.get(centre.id, 0),
            }
        )
    return rows


def alert_history(alert: Alert) -> list[AlertEvent]:
    return list(AlertEvent.objects.filter(alert=alert).select_related("actor", "actor__centre", "centre"))


def can_acknowledge(alert: Alert, user: Any) -> bool:
    return (
        user.has_role(*ACK_ROLES)
        and user.centre_id is not None
        and recipient_centres(alert).filter(pk=user.centre_id).exists()
    )


def can_change_status(alert: Alert, user: Any) -> bool:
    """The raiser, the raising centre's security officers and managers, and hub admins."""
    if user.is_hub_admin or user.pk == alert.raised_by_id:
        return True
    return alert.centre_id is not None and user.centre_id == alert.centre_id and user.has_role(*ACK_ROLES)


def person_out(user: Any) -> Person:
    return {
        "username": user.username,
        "display_name": user.get_display_name(),
        "centre": user.centre.code if user.centre is not None else None,
    }

