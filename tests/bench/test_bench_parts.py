"""Parts of `make bench` that the application's own changes can break without any other test noticing:
the history seeder writes every column of `chat_message` by hand, and the departures' probes build a
consumer by hand. Both broke silently once (threads added five columns; the consumer gained per-socket
state) and `make bench` printed ERROR rows; these tests fail first."""

from __future__ import annotations

import pytest

from bench.departures import MEASURES
from bench.seed_history import message_columns
from chat.models import Message


def test_the_history_seeder_gives_every_message_column_a_value():
    given = message_columns(topic_id=1, first_author=1, authors=3, count=10)
    columns = {f.column for f in Message._meta.concrete_fields if not f.primary_key and f.column}
    assert columns - set(given) == set(), "bench/seed_history.message_columns: give the new column a value"
    assert set(given) - columns == set(), "bench/seed_history.message_columns: a column the model no longer has"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("measure", MEASURES, ids=lambda m: m.__name__)
def test_each_departure_is_measured_against_the_plain_framework(measure, make_user):
    """One round of each comparison runs to the end and gives both figures (`make bench` prints the
    gains; here only that the probe still fits the code it probes). The measures read a person and a
    channel, as on the bench's seeded database."""
    from tests.factories import TopicFactory

    make_user("ht.security", centre="HT", role="security_officer")
    TopicFactory()
    result = measure(1)
    assert "ERROR" not in result.note, result.note
    assert result.plain_us is not None and result.plain_us > 0
    assert result.ours_us is not None and result.ours_us > 0
