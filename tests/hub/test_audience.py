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


def test_narrowed_by_admits_only_whom_both_admit_and_exactly_so_without_named_people(make_user, settings):
    """`Audience.narrowed_by` (a thread's replies when its root narrows, chat.services.remark_thread):
    for every pair of audiences of the universe above and every kind of person, never anyone one of
    the two refuses; for audiences naming no one (every channel message's and alert's), exactly
    whom both admit."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    people = [make_user(f"{(centre or 'x').lower()}.{role}", centre=centre, role=role)
              for centre, role in product(["HT", "DN", None], ["engineer", "security_officer", "manager"])]
    people.append(make_user("admin", centre=None, role="hub_admin"))
    named = [None, frozenset({people[0].pk}), frozenset({people[0].pk, people[4].pk})]
    audiences = [Audience(centres=c, roles=r, users=u) for c, r, u in product(CENTRES, ROLES, named)]
    wider, inexact = [], []
    for one, other in product(audiences, audiences):
        both = one.narrowed_by(other)
        for person in people:
            if both.allows(person) and not (one.allows(person) and other.allows(person)):
                wider.append((one, other, person.username))
            elif (one.users is None and other.users is None
                  and both.allows(person) != (one.allows(person) and other.allows(person))):
                inexact.append((one, other, person.username))
    assert wider == [] and inexact == []
    # Not vacuous: narrowing admits someone and refuses someone.
    assert Audience(centres=frozenset({"HT", "DN"})).narrowed_by(Audience(centres=frozenset({"HT"}))) == Audience(
        centres=frozenset({"HT"}))
