"""The rules of who wants what: role defaults, a person's channel for a kind of event, quiet hours.

Stated once here and read by the services (when an event is recorded) and by the worker (when mail
is held for working hours), so the preferences page, the API and the mail agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings as django_settings

from hub.models import Role
from notify.models import Channel, Kind, NotifySettings, Preference, TopicLevel, TopicSetting

H, B, E = Channel.HUB, Channel.BROWSER, Channel.EMAIL

# What each role is told, before the person changes anything. Alert email goes to the security
# officers (high and critical: issue 25); managers hear of escalations (their centre has not
# acknowledged) and get their requests' news; everyone gets mentions and request changes by email
# when they have not seen them in the hub (the unseen rule).
DEFAULTS: dict[str, dict[str, str]] = {
    Role.SECURITY_OFFICER: {
        Kind.ALERT_CRITICAL: E, Kind.ALERT_HIGH: E, Kind.ALERT_MEDIUM: B, Kind.ALERT_LOW: H,
        Kind.ESCALATION: E, Kind.MENTION: E, Kind.TICKET: E, Kind.EVENT: E,
    },
    Role.MANAGER: {
        Kind.ALERT_CRITICAL: B, Kind.ALERT_HIGH: B, Kind.ALERT_MEDIUM: H, Kind.ALERT_LOW: H,
        Kind.ESCALATION: E, Kind.MENTION: E, Kind.TICKET: E, Kind.EVENT: E,
    },
    Role.ENGINEER: {
        Kind.ALERT_CRITICAL: B, Kind.ALERT_HIGH: B, Kind.ALERT_MEDIUM: H, Kind.ALERT_LOW: H,
        Kind.ESCALATION: H, Kind.MENTION: E, Kind.TICKET: E, Kind.EVENT: E,
    },
    Role.HUB_ADMIN: {
        Kind.ALERT_CRITICAL: B, Kind.ALERT_HIGH: B, Kind.ALERT_MEDIUM: H, Kind.ALERT_LOW: H,
        Kind.ESCALATION: H, Kind.MENTION: E, Kind.TICKET: E, Kind.EVENT: E,
    },
}

# Channels each kind offers: a digest collects what happened since the last one, so it is offered
# for everything except the alerts that cannot wait.
OFFERED: dict[str, tuple[str, ...]] = {
    kind: tuple(Channel.values) for kind in Kind.values
}
OFFERED[Kind.ALERT_CRITICAL] = (Channel.HUB, Channel.BROWSER, Channel.EMAIL)
OFFERED[Kind.ESCALATION] = (Channel.HUB, Channel.BROWSER, Channel.EMAIL)
# An event's reminder is about one day: a digest would bring it too late.
OFFERED[Kind.EVENT] = (Channel.HUB, Channel.BROWSER, Channel.EMAIL, Channel.OFF)

# The kinds whose email waits for the unseen rule and is batched (the others go at once).
BATCHED_KINDS = frozenset({Kind.MENTION, Kind.TICKET})


def alert_kind(severity: str) -> str:
    return f"alert_{severity}"


def role_default(user, kind: str) -> str:
    return DEFAULTS.get(user.role, DEFAULTS[Role.ENGINEER])[kind]


# Above this many people, `channels` reads every choice made for the kind rather than name each
# person in the query (an alert to everyone: a thousand parameters built and sent for a few rows).
NAMED_AT_MOST = 100


def channel_of(user, own: str | None, kind: str) -> str:
    """A person's channel for `kind`: their own choice (`own`, their `Preference`), else their role's
    default."""
    return own or role_default(user, kind)


def channels(users: Iterable, kind: str) -> dict[int, str]:
    """Each person's channel for `kind` (`channel_of`; one query)."""
    people = list(users)
    found = Preference.objects.filter(kind=kind)
    if len(people) <= NAMED_AT_MOST:
        found = found.filter(user__in=[u.pk for u in people])
    chosen = dict(found.values_list("user_id", "channel"))
    return {u.pk: channel_of(u, chosen.get(u.pk), kind) for u in people}


def all_channels(user) -> dict[str, str]:
    chosen = dict(Preference.objects.filter(user=user).values_list("kind", "channel"))
    return {kind: chosen.get(kind) or role_default(user, kind) for kind in Kind.values}


def topic_levels(user_ids: Iterable[int], topic_id: int) -> dict[int, str]:
    """The topic's level for each person who set one (absent: everything)."""
    return dict(TopicSetting.objects.filter(user_id__in=list(user_ids), topic_id=topic_id)
                .values_list("user_id", "level"))


def email_language(user) -> str:
    """The language of the person's email: their preference (hub.i18n), else Vietnamese."""
    from hub.i18n import preference_of

    return preference_of(user) or django_settings.LANGUAGE_CODE


def settings_of(user) -> NotifySettings:
    """The person's settings, or the defaults (unsaved) when they never changed them."""
    found = NotifySettings.objects.filter(user=user).first()
    return found if found is not None else NotifySettings(user=user)


def settings_by_user(user_ids: Iterable[int]) -> dict[int, NotifySettings]:
    ids = list(user_ids)
    found = {s.user_id: s for s in NotifySettings.objects.filter(user_id__in=ids)}
    return {uid: found.get(uid) or NotifySettings(user_id=uid) for uid in ids}


# --- working hours ---------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _holidays(year: int) -> frozenset:
    import holidays

    return frozenset(holidays.country_holidays("VN", years=year))


def _is_working_day(day, work_days: list[int]) -> bool:
    return day.weekday() in work_days and day not in _holidays(day.year)


def quiet_until(prefs: NotifySettings, now: datetime, *, centre: int | None) -> datetime | None:
    """None when `now` is inside the person's working hours (or they keep no quiet hours); else the
    start of their next working period: their centre's working time (worktime/; `centre` is the
    person's centre id, which the caller holds — looking it up here cost a query per recipient of an
    alert), or the hours and days they set themselves (Vietnamese public holidays off)."""
    if not prefs.quiet_hours:
        return None
    if not prefs.own_hours:
        return _centre_quiet_until(centre, now)
    zone = ZoneInfo(django_settings.TIME_ZONE)
    local = now.astimezone(zone)
    days = list(prefs.work_days or [])
    if not days or prefs.work_start >= prefs.work_end:
        return None  # no working time at all is a setting error, not a reason to hold mail forever
    if (_is_working_day(local.date(), days) and prefs.work_start <= local.time().replace(tzinfo=None)
            < prefs.work_end):
        return None
    day = local.date()
    if local.time().replace(tzinfo=None) >= prefs.work_start:
        day += timedelta(days=1)
    for _ in range(370):
        if _is_working_day(day, days):
            return datetime.combine(day, prefs.work_start, tzinfo=zone)
        day += timedelta(days=1)
    return None


def _centre_quiet_until(centre: int | None, now: datetime) -> datetime | None:
    from worktime.selectors import calendar_for

    calendar = calendar_for(centre)
    if calendar.is_working_time(now):
        return None
    # One second of working time from now ends one second after the next working period starts.
    return calendar.add(now, 1 / 60) - timedelta(seconds=1)


def mentions_only(level: str | None) -> bool:
    return level == TopicLevel.MENTIONS


def muted(level: str | None) -> bool:
    return level == TopicLevel.MUTE
