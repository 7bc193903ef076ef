"""The SIEM example of docs/notifications.md works as written: docs/examples/siem_alert.py, run as a
script against a served hub with a real token, raises the alert (and reports a refusal clearly)."""

import subprocess
import sys

import pytest

from alerts.models import Alert
from tests.conftest import token_for
from tests.live import ROOT, start_hub

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
SCRIPT = ROOT / "docs" / "examples" / "siem_alert.py"


def test_the_siem_script_raises_an_alert_through_the_token_api(cast, tmp_path):
    hub = start_hub("daphne", tmp_dir=tmp_path)
    try:
        env = {"HUB_URL": hub.http, "HUB_TOKEN": token_for(cast.dn_security), "PATH": "/usr/bin:/bin"}
        done = subprocess.run([sys.executable, str(SCRIPT), "Brute force SSH từ 203.0.113.7", "high", "amber",
                               "203.0.113.7", "Wazuh rule 5712"], env=env, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        alert = Alert.objects.get()
        assert done.stdout.strip() == f"alert #{alert.pk}: {hub.http}/alerts/{alert.pk}/"
        assert (alert.severity, alert.tlp, alert.raised_by) == ("high", "amber", cast.dn_security)
        assert list(alert.indicators.values_list("value", flat=True)) == ["203.0.113.7"]
        refused = subprocess.run([sys.executable, str(SCRIPT), "x", "urgent", "amber", ""], env=env,
                                 capture_output=True, text=True, timeout=60)
        assert refused.returncode == 1 and "refused (400 invalid)" in refused.stderr
    finally:
        hub.stop()
