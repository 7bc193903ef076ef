"""Reading alerts: who may see which (TLP and sharing scope), who must acknowledge, and the views
built on that.

`audience_of(alert)` is THE rule. `visible_alerts` is the same rule as a database filter; it cannot
be derived from a stored copy of the audience, because an alert's audience depends on its TLP, its
sharing and its raising centre, which the admin or a queryset update can change without a service, and
a stale stored copy would fail open. So it is written out, and tests/alerts/test_tlp.py holds it to
`audience_of` for every (TLP, sharing, raising centre, viewer centre, viewer role). Every read path —
list, detail, search, the web pages, STIX exports, indicator sightings, the dashboard and the yearly
report, the socket (through the audience on the broadcast) and the summary message in the security
topic — goes through one of the two.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils.translation import gettext_lazy as _

from alerts.models import Acknowledgement, Alert, AlertEvent, Escalation, Indicator, Severity, Status, Tlp
from hub.errors import NOT_FOUND, HubError, invalid
from hub.lib.compiled_queries import CompiledQuery
from hub.lib.jsonutil import timestamp
from hub.models import Centre, Role
from hub.realtime.audience import EVERYONE, Audience
from hub.realtime.frames import Person
from hub.selectors import centres_by_id
from hub.sharing import scope_centres

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


def shared_codes(alert: Alert) -> list[str]:
    return sorted(c.code for c in alert.shared_with.all())


def scope_of(alert: Alert) -> frozenset[str] | None:
    """The centres an alert is limited to (the raising one and those it is shared with), or None when
    its TLP's audience spans every centre."""
    return marking_scope(alert.tlp, shared_codes(alert), alert.centre.code if alert.centre is not None else None)


def marking_scope(tlp: str, shared: list[str], raising: str | None) -> frozenset[str] | None:
    """CLEAR/GREEN span every centre; AMBER/AMBER+STRICT too unless shared with named centres;
    TLP:RED is always limited (to the raising centre alone when shared with none)."""
    if tlp in (Tlp.CLEAR, Tlp.GREEN) or (not shared and tlp != Tlp.RED):
        return None
    return scope_centres(shared, raising)


def audience_of(alert: Alert) -> Audience:
    """THE rule (for an alert that exists; `marking_audience` for one about to)."""
    return marking_audience(alert.tlp, scope_of(alert))


def marking_audience(tlp: str, scope: frozenset[str] | None) -> Audience:
    """clear/green: everyone; amber and amber+strict: security officers and managers of every
    centre, or of the raising and named centres when shared with some; red: everyone of the raising
    centre and the named ones. Hub admins always (Audience.allows). AMBER+STRICT reaches the same
    people as AMBER: the marking tells them to keep it inside their own centre."""
    if tlp in (Tlp.CLEAR, Tlp.GREEN):
        return EVERYONE
    if tlp == Tlp.RED:
        return Audience(centres=scope or frozenset())
    return Audience(roles=AMBER_ROLES, centres=scope)


def recipient_centres(alert: Alert) -> QuerySet[Centre]:
    """The centres expected to acknowledge: every centre the alert reaches, except the raising one
    (it knows already)."""
    centres = scope_of(alert)
    qs = Centre.objects.all() if centres is None else Centre.objects.filter(code__in=centres)
    if alert.centre_id:
        qs = qs.exclude(pk=alert.centre_id)
    return qs.order_by("code")


def recipient_centre_list(alert: Alert) -> list[Centre]:
    """`recipient_centres(alert)` as a list, taken from every centre as read by the one compiled
    query of them (`hub.selectors.centres_by_id`): building the queryset's SQL was about a twentieth
    of raising an alert (issue 27). tests/alerts/test_tlp.py holds the two to the same centres, in
    the same order, for every TLP and sharing."""
    scope = scope_of(alert)
    return sorted((c for c in centres_by_id().values()
                   if c.pk != alert.centre_id and (scope is None or c.code in scope)), key=lambda c: c.code)


def visible_alerts(user: Any) -> QuerySet[Alert]:
    """`audience_of(alert).allows(user)` as a filter (held to it by tests/alerts/test_tlp.py)."""
    qs = Alert.objects.select_related("raised_by", "raised_by__centre", "centre")
    shape = viewer_shape(user)
    if shape is None:
        return qs.none()
    condition = visibility(shape, user.centre_id)
    return qs if condition is None else qs.filter(condition)


def viewer_shape(user: Any) -> tuple[bool, bool, bool] | None:
    """What of a viewer decides which alerts they see: (hub admin, in a centre, AMBER role), or None
    for nobody (anonymous or inactive). Viewers of one shape see through the same filter, with their
    own centre in it (`visibility`; `sightings` builds its SQL once per shape)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return (bool(user.is_hub_admin), bool(user.centre_id), bool(user.has_role(*AMBER_ROLES)))


def visibility(shape: tuple[bool, bool, bool], centre_id: Any) -> Q | None:
    """The filter of `visible_alerts` for a viewer of `shape` in centre `centre_id` (None: every alert)."""
    admin, in_centre, amber = shape
    if admin:
        return None
    shares = Alert.shared_with.through.objects
    condition = Q(tlp__in=[Tlp.CLEAR, Tlp.GREEN])
    in_scope = Q(pk__in=[])
    if in_centre:
        in_scope = Q(centre_id=centre_id) | Q(pk__in=shares.filter(centre_id=centre_id).values("alert_id"))
        condition |= Q(tlp=Tlp.RED) & in_scope
    if amber:
        unscoped = ~Q(pk__in=shares.values("alert_id"))
        condition |= Q(tlp__in=[Tlp.AMBER, Tlp.AMBER_STRICT]) & (unscoped | in_scope)
    return condition


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


def awaiting_acknowledgement(user: Any) -> list[Alert]:
    """Alerts the viewer can see that wait for the viewer's centre to acknowledge: not closed, the
    centre is a recipient, nobody of it has acknowledged. The web UI keeps these on every page
    (banner, bell, home) until the centre acknowledges (issue 23), oldest first."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.centre_id:
        return []
    candidates = (
        visible_alerts(user).exclude(status=Status.CLOSED).exclude(centre_id=user.centre_id)
        .exclude(pk__in=Acknowledgement.objects.filter(centre_id=user.centre_id).values("alert_id"))
        .prefetch_related("indicators", "shared_with").order_by("created_at", "id")
    )
    code = user.centre.code
    return [alert for alert in candidates if (scope := scope_of(alert)) is None or code in scope]


def acknowledgement_progress(alerts: list[Alert]) -> dict[int, tuple[int, int]]:
    """Per alert id, (centres that acknowledged, recipient centres): the list's acknowledgement column.
    Two queries for the page whatever its length (the alerts' shared_with must be prefetched)."""
    ids = [a.pk for a in alerts]
    acked: dict[int, set[str]] = {}
    for alert_id, code in Acknowledgement.objects.filter(alert_id__in=ids).values_list("alert_id", "centre__code"):
        acked.setdefault(alert_id, set()).add(code)
    every = set(Centre.objects.values_list("code", flat=True))
    progress = {}
    for alert in alerts:
        scope = scope_of(alert)
        raising = {alert.centre.code} if alert.centre is not None else set()
        recipients = (every if scope is None else every & scope) - raising
        progress[alert.pk] = (len(acked.get(alert.pk, set()) & recipients), len(recipients))
    return progress


def acknowledgement_matrix(alert: Alert, *, recipients: list[Centre] | None = None,
                           new: bool = False) -> list[dict[str, Any]]:
    """Every recipient centre with `acknowledged` (by whom, when) or `pending`, and how far it escalated
    (`recipients`: `recipient_centres(alert)` when the caller already read it; `new`: the alert's own
    raise is asking, before its commit anyone could acknowledge or escalate it: nothing to read)."""
    acks = {} if new else {
        a.centre_id: a for a in Acknowledgement.objects.filter(alert=alert).select_related("user", "centre")
    }
    steps: dict[int, int] = {}
    for centre_id, step in ([] if new else Escalation.objects.filter(alert=alert).values_list("centre_id", "step")):
        steps[centre_id] = max(step, steps.get(centre_id, 0))
    rows = []
    for centre in recipient_centres(alert) if recipients is None else recipients:
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


def can_acknowledge(alert: Alert, user: Any, *, recipients: list[Centre] | None = None) -> bool:
    """A security officer or manager of a recipient centre (`recipients`: `recipient_centres(alert)`
    when the caller already read it)."""
    if not user.has_role(*ACK_ROLES) or user.centre_id is None:
        return False
    if recipients is not None:
        return any(centre.pk == user.centre_id for centre in recipients)
    return recipient_centres(alert).filter(pk=user.centre_id).exists()


def may_raise(user: Any) -> bool:
    """Who raises alerts: security officers and hub admins (`RAISE_ROLES`), while active."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active
                and user.has_role(*RAISE_ROLES))


def can_change_status(alert: Alert, user: Any) -> bool:
    """Who changes an alert (its status, TLP, sharing, text) and keeps its record: hub admins, the
    raising centre's security officers and managers, and the raiser while they are still of the
    raising centre and still one who may raise (`may_raise`). The right is the raising centre's,
    decided from the person's centre and role now: a raiser who moved to another centre or was
    demoted keeps nothing of it."""
    if user.is_hub_admin:
        return True
    if alert.centre_id is None or user.centre_id != alert.centre_id:
        return False
    return user.has_role(*ACK_ROLES) or (user.pk == alert.raised_by_id and may_raise(user))


def person_out(user: Any) -> Person:
    return {
        "username": user.username,
        "display_name": user.get_display_name(),
        "centre": user.centre.code if user.centre is not None else None,
    }



# --- the timeline ------------------------------------------------------------------------------------


def timeline(alert: Alert) -> list[AlertEvent]:
    """Every entry of the alert's record, oldest first, each with `corrected_by` (the ids of the
    entries that correct it) attached."""
    entries = alert_history(alert)
    corrections: dict[int, list[int]] = {}
    for entry in entries:
        if entry.corrects_id is not None:
            corrections.setdefault(entry.corrects_id, []).append(entry.pk)
    for entry in entries:
        entry.alert = alert
        entry.corrected_by = corrections.get(entry.pk, [])
    return entries


def can_add_entry(alert: Alert, user: Any) -> bool:
    """Notes on the record: the alert's own side (who may change its status), and the security
    officers and managers of every centre that receives it — they are the ones responding."""
    return can_change_status(alert, user) or (user.has_role(*ACK_ROLES) and user.centre_id is not None)


def can_correct(entry: AlertEvent, user: Any) -> bool:
    """An entry is corrected by the alert's own side, or by whoever wrote it while they may still add
    entries (`can_add_entry`, decided from their role and centre now: an author demoted to engineer
    no longer writes on the record, and the page's flag says so)."""
    if can_change_status(entry.alert, user):
        return True
    return entry.actor_id is not None and entry.actor_id == user.pk and can_add_entry(entry.alert, user)


# --- indicators across alerts ---------------------------------------------------------------------------


# The earlier sightings an alert's detail lists per indicator (`seen_before`); the rest are paged from
# `GET /api/v1/indicators?value=…&cursor=…`, whose address the detail gives (docs/alerts.md). Without a
# cap an indicator seen in thousands of alerts over the years made every answer, the raise's 201
# included, list all of them.
SEEN_BEFORE_LIMIT = 20
# What a sighting shows (alerts.serializers.sighting_out): an alert's texts are most of its row.
SIGHTING_FIELDS = ("id", "type", "value", "created_at", "alert_id", "alert__title", "alert__tlp", "alert__centre__code")


@dataclass(frozen=True, slots=True)
class Sighting:
    """An indicator as seen in one alert: what `GET /api/v1/indicators` and `seen_before` list."""

    id: int
    type: str
    value: str
    created_at: datetime
    alert_id: int
    title: str
    tlp: str
    centre: str | None


def sightings_of(user: Any, type_: str, value: str) -> QuerySet[Indicator]:
    """Every alert `user` may see that carries this normalised indicator, with only what a sighting
    shows (`as_sighting`): `GET /api/v1/indicators` pages them oldest first."""
    return (Indicator.objects.filter(type=type_, value=value, alert__in=visible_alerts(user).values("pk"))
            .select_related("alert", "alert__centre")
            .only("type", "value", "created_at", "alert", "alert__title", "alert__tlp", "alert__centre",
                  "alert__centre__code"))


def as_sighting(indicator: Indicator) -> Sighting:
    alert = indicator.alert
    return Sighting(indicator.pk, indicator.type, indicator.value, indicator.created_at, alert.pk, alert.title,
                    alert.tlp, alert.centre.code if alert.centre is not None else None)


def _seen_query(shape: tuple[bool, bool, bool]) -> CompiledQuery:
    """`seen_before`'s one query for viewers of `shape`, its SQL built once per process and list
    length (hub.lib.compiled_queries): building it was a fifth of a raise's CPU (issue 27)."""
    query = _SEEN.get(shape)
    if query is None:
        with_centre = shape[1] and not shape[0]

        def build(*args: Any) -> QuerySet[Indicator, Any]:
            centre, (exclude, types, values) = (args[0], args[1:]) if with_centre else (None, args)
            condition = visibility(shape, centre)
            alerts = Alert.objects.all() if condition is None else Alert.objects.filter(condition)
            return (Indicator.objects.filter(type__in=types, value__in=values, alert__in=alerts.values("pk"))
                    .exclude(alert_id=exclude)
                    # the first SEEN_BEFORE_LIMIT + 1 of each indicator: one more says there are more
                    .annotate(rank=Window(RowNumber(), partition_by=[F("type"), F("value")],
                                          order_by=[F("created_at").asc(), F("id").asc()]))
                    .filter(rank__lte=SEEN_BEFORE_LIMIT + 1)
                    .order_by("created_at", "id").values_list(*SIGHTING_FIELDS))

        query = _SEEN[shape] = CompiledQuery(build, kinds=(int, int, str, str) if with_centre else (int, str, str))
    return query


_SEEN: dict[tuple[bool, bool, bool], CompiledQuery] = {}


def _padded(items: list[str]) -> list[str]:
    """`items` (not empty) repeated at the end up to a power of two: the compiled SQL of an
    `IN (…)` is per length, and this keeps the lengths (and so the SQL kept per process) few."""
    size = 1 << (len(items) - 1).bit_length()
    return items + [items[-1]] * (size - len(items))


def seen_before(user: Any, alert: Alert) -> dict[int, list[Sighting]]:
    """{indicator id: its earlier sightings in other alerts the viewer may see, oldest first} for the
    alert page's "seen before at QB on 12/03, HUE on 02/05": at most SEEN_BEFORE_LIMIT + 1 each
    (the last says there are more)."""
    own = list(alert.indicators.all())
    shape = viewer_shape(user)
    if not own or shape is None:
        return {i.pk: [] for i in own}
    types = _padded(sorted({i.type for i in own}))
    values = _padded(sorted({i.value for i in own}))
    query = _seen_query(shape)
    args = (alert.pk, types, values)
    rows = query.rows(user.centre_id, *args) if shape[1] and not shape[0] else query.rows(*args)
    found: dict[tuple[str, str], list[Sighting]] = {}
    for row in rows:
        found.setdefault((row[1], row[2]), []).append(Sighting(*row))
    # Earlier than the indicator itself: the first rows of each list, so the cap above still holds.
    return {i.pk: [s for s in found.get((i.type, i.value), []) if s.created_at < i.created_at] for i in own}
