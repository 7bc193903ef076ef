"""Hub admins manage alerts in Django's admin; the history rows there are read-only."""

import pytest

from alerts.services import acknowledge_alert
from tests.alerts.conftest import raise_as

pytestmark = pytest.mark.django_db


def test_every_alert_model_has_working_admin_pages(cast, client, make_user):
    alert = raise_as(cast.ht_security, severity="critical", description="**Khẩn**")
    acknowledge_alert(alert, by=cast.dn_manager)
    client.force_login(make_user("root", centre=None, role="hub_admin", is_staff=True, is_superuser=True))
    for path in ["/admin/alerts/alert/", f"/admin/alerts/alert/{alert.pk}/change/", "/admin/alerts/indicator/",
                 "/admin/alerts/acknowledgement/", "/admin/alerts/escalation/", "/admin/alerts/alertevent/",
                 "/admin/alerts/alert/?q=khan"]:
        assert client.get(path).status_code == 200, path
    page = client.get(f"/admin/alerts/alertevent/{alert.events.first().pk}/change/").content.decode()
    assert 'name="kind"' not in page  # read-only: shown, not editable
