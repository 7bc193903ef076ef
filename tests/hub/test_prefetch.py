"""hub.lib.prefetch.hold_prefetched: what a transaction wrote, held on the instance as a prefetch
would hold it (docs/departures.md, section 7)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.models import Alert, Indicator
from hub.lib.prefetch import hold_prefetched
from hub.models import Centre
from tests.alerts.conftest import raise_as
from tests.factories import staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def raiser():
    for code in ("DN", "QB"):
        staff(f"{code.lower()}.manager")
    return staff("ht.security")


def test_held_relations_answer_without_a_query_in_order_and_as_the_database_would(raiser):
    raised = raise_as(raiser, tlp="amber", shared_with=["DN", "QB"],
                      indicators=[{"type": "ipv4", "value": "203.0.113.8"}, {"type": "domain", "value": "a.example"}])
    alert = Alert.objects.get(pk=raised.pk)
    indicators = list(Indicator.objects.filter(alert=alert).order_by("position"))
    centres = list(Centre.objects.filter(code__in=["DN", "QB"]).order_by("code"))
    hold_prefetched(alert, "indicators", indicators)
    hold_prefetched(alert, "shared_with", centres)
    with CaptureQueriesContext(connection) as queries:
        assert list(alert.indicators.all()) == indicators
        assert list(alert.shared_with.all()) == centres
    assert len(queries) == 0
    fresh = Alert.objects.prefetch_related("indicators", "shared_with").get(pk=alert.pk)
    assert list(fresh.indicators.all()) == indicators and list(fresh.shared_with.all()) == centres


def test_a_write_through_the_manager_drops_what_is_held(raiser):
    raised = raise_as(raiser, tlp="amber", shared_with=["DN"])
    alert = Alert.objects.get(pk=raised.pk)
    hold_prefetched(alert, "shared_with", [])
    alert.shared_with.add(Centre.objects.get(code="QB"))
    assert sorted(c.code for c in alert.shared_with.all()) == ["DN", "QB"]  # read again, not the held []
