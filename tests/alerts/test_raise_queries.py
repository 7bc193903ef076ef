"""What raising an alert costs the database, by token as a SIEM does (issue 27, target 3: alert
bursts): a fixed number of SQL queries per alert, whatever the number of its readers, of the people
it emails, of its indicators. Before issue 27 the same POST cost 42 queries (55 for a high alert,
one more per emailed reader), then 27 (29), then 19, then 16; now 9 for either: the readers' notifications, emails and
webhook deliveries are written outside the request, by the job that expands the raise's one outbox
row (notify.services.expand_alert_notices), whose own queries do not grow with the readers either,
and the 201's detail no longer reads what cannot exist before the alert was committed (its
acknowledgements, escalations, linked requests; its record is the one entry the raise wrote), nor
reads back what the raise has just written (the alert, its indicators, its sharing: held on the alert
as a prefetch holds them, hub.lib.prefetch). On PostgreSQL the alert, its indicators, its record's
first entry and its notice are one statement (alerts.services._write_raise), the summary message's
INSERT reads the topic's previous message id itself (chat.services._store_message), and the topic
comes with its allowed centres (chat.selectors.get_topic), and the summary takes no savepoint inside
the raise's transaction (a taken client_id is the INSERT's ON CONFLICT, not an error to recover
from): seven round trips fewer (16 on SQLite, which keeps Django's INSERTs).
Two of the raise's queries are the test's own savepoint, which a request outside a test does not
pay."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hub.models import Centre, Role, User
from notify.models import Notification
from notify.services import expand_alert_notices
from tests.alerts.conftest import alert_payload

pytestmark = pytest.mark.django_db

# medium: the bench's alert storm raises these; high: also email to every security officer, which
# the expansion writes (settings and the outbox rows), not the raise.
QUERIES = {"medium": 9, "high": 9} if connection.vendor == "postgresql" else {"medium": 16, "high": 16}
# Expanding one raised alert's notice: the pending notices, the alert (with its sharing), the
# readers, the shifts on duty, the channels, the claim, the notifications, the webhooks, and the
# notice's own savepoint (two: its transaction, inside the test's) — and for a high alert the emailed
# readers' settings, the outbox rows and the mail job made due.
EXPANSION = {"medium": 11, "high": 14}


def raise_and_count(client, severity: str, indicators: int) -> int:
    """The queries of one POST. SQLite splits one bulk insert into statements of at most 999
    parameters: consecutive INSERTs into one table count as the one they are on PostgreSQL."""
    payload = alert_payload(severity=severity, tlp="clear",
                            indicators=[{"type": "ipv4", "value": f"203.0.113.{i + 1}"} for i in range(indicators)])
    with CaptureQueriesContext(connection) as captured:
        response = client.post("/api/v1/alerts", payload, content_type="application/json")
    assert response.status_code == 201, response.content
    return counted(captured)


def counted(captured: CaptureQueriesContext) -> int:
    statements = [q["sql"] for q in captured.captured_queries]
    return sum(1 for i, sql in enumerate(statements)
               if not (sql.startswith("INSERT") and i and statements[i - 1].split("(")[0] == sql.split("(")[0]))


@pytest.mark.parametrize("severity", ["medium", "high"])
def test_raising_costs_the_same_queries_however_many_readers(seeded, make_user, api_client, severity):
    user = make_user("ht.bench", centre="HT", role="security_officer", email="ht.bench@example.vn")
    client = api_client(user)
    raise_and_count(client, severity, 1)  # warm: caches (calendars, compiled queries)
    assert raise_and_count(client, severity, 2) == QUERIES[severity]
    centres = list(Centre.objects.order_by("code"))
    User.objects.bulk_create([
        User(username=f"extra-{i:03d}", centre=centres[i % len(centres)], role=Role.SECURITY_OFFICER,
             email=f"extra-{i:03d}@example.vn", password="!")
        for i in range(60)])
    raise_and_count(client, severity, 1)  # warm again: the working calendars of centres new to this test
    expand_alert_notices()
    readers_before = Notification.objects.count()
    assert raise_and_count(client, severity, 5) == QUERIES[severity]
    assert Notification.objects.count() == readers_before  # not in the request
    with CaptureQueriesContext(connection) as captured:
        assert expand_alert_notices() == 1
    assert counted(captured) == EXPANSION[severity], "\n".join(q["sql"][:150] for q in captured.captured_queries)
    assert Notification.objects.count() - readers_before >= 60  # the new readers were notified too


def test_the_answer_to_a_raise_is_the_alerts_detail(seeded, make_user, api_client):
    """The 201 is built without reading what cannot exist yet (acknowledgements, escalations, other
    entries, linked requests): it is exactly what `GET /api/v1/alerts/{id}` then answers the raiser."""
    user = make_user("ht.bench", centre="HT", role="security_officer", email="ht.bench@example.vn")
    client = api_client(user)
    client.post("/api/v1/alerts", alert_payload(severity="high", tlp="amber"), content_type="application/json")
    answer = client.post("/api/v1/alerts", alert_payload(severity="high", tlp="amber"),  # seen before: the first
                         content_type="application/json")
    assert answer.status_code == 201
    created = answer.json()
    assert created["history"] and created["entries"] and created["acknowledgements"]
    assert created["seen_before"][0]["sightings"]
    assert client.get(f"/api/v1/alerts/{created['id']}").json() == created


def test_the_answer_to_a_raise_is_exactly_the_documented_schema(seeded, make_user, api_client):
    """The raise's 201 skips ninja's validation of the answer (hub.lib.api_support.trusted_json) for
    speed in a burst; this keeps its answer and its OpenAPI schema (AlertDetailOut) the same thing."""
    from alerts.api import AlertDetailOut, SeenBeforeOut, SightingOut

    user = make_user("ht.bench", centre="HT", role="security_officer", email="ht.bench@example.vn")
    client = api_client(user)
    client.post("/api/v1/alerts", alert_payload(severity="high", tlp="clear"), content_type="application/json")
    answer = client.post("/api/v1/alerts", alert_payload(severity="high", tlp="clear"),
                         content_type="application/json")
    assert answer.status_code == 201
    assert answer["Content-Type"] == "application/json; charset=utf-8"
    created = answer.json()
    AlertDetailOut.model_validate(created)
    assert set(created) == set(AlertDetailOut.model_fields)
    assert set(created["seen_before"][0]) == set(SeenBeforeOut.model_fields)
    assert set(created["seen_before"][0]["sightings"][0]) == set(SightingOut.model_fields)
    # What ninja itself would have answered after validating it, field for field.
    assert AlertDetailOut.model_validate(created).model_dump(mode="json") == created
