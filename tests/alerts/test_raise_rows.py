"""A raise's rows written in one statement on PostgreSQL (alerts.services._write_raise, hub.lib.inserts:
the alert, its indicators, its record's first entry and its notice in one data-modifying WITH) are
the rows Django's `save()` / `bulk_create` wrote before (issue 27, target 3), and the instances the
raise goes on with are as a save leaves them."""

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import pytest
from django.db.models.signals import post_save, pre_save

from alerts import services
from alerts.models import Alert, AlertEvent, Indicator
from notify.models import AlertNotice
from tests.alerts.conftest import raise_as

# The one statement is PostgreSQL's: run by the PostgreSQL + Redis pass (`services`), never skipped.
pytestmark = [pytest.mark.django_db, pytest.mark.services]

_TIMES = {"created_at", "at"}  # the alert's own time (its `updated_at`: a moment later, `auto_now`)


def _rows(alert: Alert) -> dict[str, Any]:
    """Everything stored for the alert, ids and times replaced by what they must equal."""
    def plain(row: Mapping[str, Any], *, own: str) -> dict[str, Any]:
        assert all(row[t] == alert.created_at for t in _TIMES & set(row)), row
        return {k: v for k, v in row.items() if k not in _TIMES | {"id", "updated_at", own}}

    return {
        "alert": plain(Alert.objects.filter(pk=alert.pk).values().get(), own="_"),
        "indicators": [plain(r, own="alert_id") for r in Indicator.objects.filter(alert=alert).order_by("id").values()],
        "entries": [plain(r, own="alert_id") for r in AlertEvent.objects.filter(alert=alert).values()],
        "notices": [plain(r, own="alert_id") for r in AlertNotice.objects.filter(alert=alert).values()],
        "sharing": sorted(alert.shared_with.values_list("code", flat=True)),
    }


@pytest.mark.parametrize("overrides", [
    {},
    {"indicators": [], "affected_systems": [], "description": "", "recommended_actions": ""},
    {"tlp": "amber", "shared_with": ["DN", "QB"], "severity": "critical",
     "indicators": [{"type": "ipv4", "value": f"203.0.113.{i}"} for i in range(1, 40)]
     + [{"type": "domain", "value": "evil[.]example.vn"},
        {"type": "hash", "value": "d41d8cd98f00b204e9800998ecf8427e"}]},
    {"origin": {"kind": "message", "topic": "an-toan-thong-tin", "message": 12, "text": "'quoted' \"text\" \\ %s"}},
])
def test_the_one_statement_writes_the_rows_save_wrote(cast, monkeypatch, overrides):
    title = "Dò quét SSH — 'nháy' \"kép\" %s %(x)s \\ 100%"
    one = raise_as(cast.ht_security, title=title, **overrides)
    with monkeypatch.context() as m:  # Django's own INSERTs, as on any other database
        m.setattr(services, "connection", SimpleNamespace(vendor="the ORM's path"))
        orm = raise_as(cast.ht_security, title=title, **overrides)
    written = _rows(one)
    assert written == _rows(orm)
    assert len(written["notices"]) == 1 and len(written["entries"]) == 1
    assert written["alert"]["search_text"] and written["alert"]["title"] == title


def test_the_instances_are_as_a_save_leaves_them(cast):
    alert = raise_as(cast.ht_security, indicators=[{"type": "ipv4", "value": "203.0.113.9"},
                                                    {"type": "domain", "value": "b.example.vn"}])
    stored = Alert.objects.get(pk=alert.pk)
    assert not alert._state.adding and alert._state.db == "default"
    assert (alert.created_at, alert.updated_at) == (stored.created_at, stored.updated_at)
    indicators = list(alert.indicators.all())  # held as a prefetch holds them
    assert [(i.pk, i.alert_id, i.position, i.value) for i in indicators] == list(
        Indicator.objects.filter(alert=alert).order_by("position").values_list("pk", "alert_id", "position", "value"))
    entry = services.raised_entry(alert)
    assert entry is not None and entry.pk == AlertEvent.objects.get(alert=alert).pk and entry.alert_id == alert.pk


def test_save_signals_are_sent_for_the_rows_save_wrote(cast):
    """`pre_save` (hub/signals.py checks every row's text on it) and `post_save` for the alert, its
    entry and its notice, as their `save()` sent them; none for the indicators (`bulk_create`)."""
    seen: list[tuple[str, str, bool | None]] = []

    def record(signal_name):
        def receiver(sender, instance, **kwargs):
            seen.append((signal_name, sender.__name__, kwargs.get("created")))
        return receiver

    before, after = record("pre"), record("post")
    pre_save.connect(before)
    post_save.connect(after)
    try:
        raise_as(cast.ht_security)
    finally:
        pre_save.disconnect(before)
        post_save.disconnect(after)
    ours = [s for s in seen if s[1] in {"Alert", "Indicator", "AlertEvent", "AlertNotice"}]
    assert sorted(ours) == sorted([("pre", "Alert", None), ("pre", "AlertEvent", None), ("pre", "AlertNotice", None),
                                   ("post", "Alert", True), ("post", "AlertEvent", True),
                                   ("post", "AlertNotice", True)])
