"""The visibility vocabulary, stated once: `Audience.allows` (what every socket checks before a frame
leaves) and `audience_q` (the same rule over an item's stored audience columns, for every read path)
agree for every audience and every person of a small but complete universe — every combination of
no restriction, no one, one and two centres; roles likewise; named people — and every kind of
person: each centre and none, each role, inactive, hub admin."""

from itertools import product

import pytest

from chat.models import Message
from hub.realtime.audience import Audience, audience_q

pytestmark = pytest.mark.django_db

CENTRES = [None, frozenset(), frozenset({"HT"}), frozenset({"HT", "DN"})]
ROLES = [None, frozenset(), frozenset({"engineer"}), frozenset({"security_officer", "manager"})]


def test_allows_and_audience_q_are_the_same_rule(make_user, settings):
    from chat.services import create_topic

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    people = [make_user(f"{(centre or 'x').lower()}.{role}", centre=centre, role=role)
              for centre, role in product(["HT", "DN", "QB", None], ["engineer", "security_officer", "manager"])]
    people.append(make_user("admin", centre=None, role="hub_admin"))
    gone = make_user("gone", centre="HT")
    gone.is_active = False
    gone.save()
    people.append(gone)
    named = [None, frozenset({people[0].pk}), frozenset({people[0].pk, people[7].pk})]
    topic = create_topic(slug="khan-gia", name_vi="Khán giả", name_en="Audiences")
    audiences = {}
    for centres, roles, users in product(CENTRES, ROLES, named):
        audience = Audience(centres=centres, roles=roles, users=users)
        message = Message(topic=topic, author=people[0], body="x", html="x")
        message.set_audience(audience.as_meta())
        message.save()
        audiences[message.pk] = audience
    assert len(audiences) == 48
    disagreements = []
    for person in people:
        in_sql = set(Message.objects.filter(audience_q(person)).values_list("pk", flat=True))
        for pk, audience in audiences.items():
            if (pk in in_sql) != audience.allows(person):
                disagreements.append((person.username, audience))
    assert disagreements == []
    # Not vacuous: the universe has people each side of most audiences.
    allowed = sum(a.allows(p) for p in people for a in audiences.values())
    assert 0 < allowed < len(people) * len(audiences)
