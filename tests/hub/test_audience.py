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


def test_lost_reaches_exactly_who_one_audience_admitted_and_the_next_does_not(make_user, settings):
    """`Lost` (the frames that take a thing off the screens of people who may no longer see it):
    for every pair of audiences and every kind of person, exactly those `before` admits and `after`
    refuses — never a hub admin (who sees everything), never someone who still may — and it crosses
    the channel layer unchanged (`reach_from_meta`)."""
    from hub.realtime.audience import Lost, reach_from_meta

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    people = [make_user(f"{(centre or 'x').lower()}.{role}", centre=centre, role=role)
              for centre, role in product(["HT", "DN", None], ["engineer", "security_officer"])]
    admin = make_user("admin", centre=None, role="hub_admin")
    named = [None, frozenset({people[0].pk})]
    audiences = [Audience(centres=c, roles=r, users=u) for c, r, u in product(CENTRES, ROLES, named)]
    wrong = []
    for before, after in product(audiences, audiences):
        lost = Lost(before=before, after=after)
        assert reach_from_meta(lost.as_meta()) == lost
        for person in [*people, admin]:
            if lost.allows(person) != (before.allows(person) and not after.allows(person)):
                wrong.append((before, after, person.username))
        assert not lost.allows(admin)
    assert wrong == []
    assert reach_from_meta(Audience(centres=frozenset({"HT"})).as_meta()) == Audience(centres=frozenset({"HT"}))
    assert reach_from_meta(None) == Audience()
    # Not vacuous: raising an alert from everyone to HT alone reaches DN's people, not HT's.
    raised = Lost(before=Audience(), after=Audience(centres=frozenset({"HT"})))
    assert [p.username for p in people if raised.allows(p)] == ["dn.engineer", "dn.security_officer",
                                                                 "x.engineer", "x.security_officer"]
