"""`seed_demo --history` contributes a year of alerts, once, consistent with the live rules."""

import pytest

from alerts import demo
from alerts.models import Acknowledgement, Alert, Escalation
from alerts.selectors import visible_alerts
from alerts.services import escalate_due_alerts
from hub.models import User

pytestmark = pytest.mark.django_db


def test_demo_history_is_realistic_and_idempotent(seeded):
    demo.seed(history=True)
    counts = (Alert.objects.count(), Acknowledgement.objects.count(), Escalation.objects.count())
    demo.seed(history=True)
    assert (Alert.objects.count(), Acknowledgement.objects.count(), Escalation.objects.count()) == counts
    assert counts[0] == len(demo.ALERTS) and counts[1] > 0 and counts[2] > 0
    assert set(Alert.objects.values_list("status", flat=True)) == {"open", "mitigated", "closed"}
    # Nothing in the demo is overdue for a new escalation step the moment the worker starts.
    assert escalate_due_alerts() == []
    # TLP still applies: Thanh Hóa's engineer does not see the red or amber incidents.
    visible = set(visible_alerts(User.objects.get(username="th.engineer")).values_list("tlp", flat=True))
    assert visible == {"clear", "green"}


def test_without_history_no_alerts_are_made(seeded):
    demo.seed(history=False)
    assert not Alert.objects.exists()
