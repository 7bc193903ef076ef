"""Who sees which topic: channel restrictions, the registry for other kinds, hub admins."""

import pytest

from chat.access import access_for, register_topic_access, unregister_topic_access
from chat.models import Topic
from chat.selectors import can_view_topic, visible_topics
from hub.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket_access_restored():
    """Tests replace the `ticket` rule; put back whatever the tickets app registered."""
    previous = access_for(Topic.Kind.TICKET)
    yield
    if previous is None:
        unregister_topic_access(Topic.Kind.TICKET)
    else:
        register_topic_access(Topic.Kind.TICKET, previous.check, previous.visible_q)


def test_channel_restricted_by_role_and_centre(make_user, make_topic):
    ht_security = make_user("ht.security", centre="HT", role="security_officer")
    dn_manager = make_user("dn.manager", centre="DN", role="manager")
    topic = make_topic("ung-cuu", allowed_roles=["security_officer", "manager"], allowed_centres=["HT", "DN"])
    assert can_view_topic(ht_security, topic)
    assert can_view_topic(dn_manager, topic)
    assert not can_view_topic(make_user("ht.engineer", centre="HT"), topic)
    assert not can_view_topic(make_user("qb.security", centre="QB", role="security_officer"), topic)
    assert not can_view_topic(make_user("nobody", centre=None, role="manager"), topic)
    assert can_view_topic(make_user("admin", centre=None, role="hub_admin"), topic)


def test_unrestricted_channel_is_open_to_every_active_user(make_user, make_topic):
    topic = make_topic("chung")
    user = make_user("qt.engineer", centre="QT")
    assert can_view_topic(user, topic)
    user.is_active = False
    assert not can_view_topic(user, topic)


def test_other_kinds_are_denied_unless_their_owner_registered_a_rule(make_user, ticket_access_restored):
    thread = Topic.objects.create(slug="ticket-7", name_vi="Yêu cầu 7", name_en="Request 7", kind=Topic.Kind.TICKET)
    asker, helper = make_user("ht.engineer", centre="HT"), make_user("dn.engineer", centre="DN")
    unregister_topic_access(Topic.Kind.TICKET)
    assert not can_view_topic(asker, thread)
    assert can_view_topic(make_user("admin", centre=None, role="hub_admin"), thread)
    register_topic_access(Topic.Kind.TICKET, lambda user, topic: user.centre is not None and user.centre.code == "HT")
    assert can_view_topic(asker, thread) and not can_view_topic(helper, thread)
    assert [t.slug for t in visible_topics(asker, kind=Topic.Kind.TICKET)] == ["ticket-7"]
    assert visible_topics(helper, kind=Topic.Kind.TICKET) == []


def test_a_bulk_filter_decides_listings_in_one_query(make_user, make_topic, ticket_access_restored):
    from django.db import connection
    from django.db.models import Q
    from django.test.utils import CaptureQueriesContext

    make_topic("chung")
    for n in range(1, 21):
        Topic.objects.create(slug=f"ticket-{n:02}", name_vi="y", name_en="r", kind=Topic.Kind.TICKET)
    checked: list[str] = []

    def check(user: User, topic: Topic) -> bool:
        checked.append(topic.slug)
        return True

    register_topic_access(Topic.Kind.TICKET, check,
                          visible_q=lambda user: Q(slug__in=["ticket-01", "ticket-03"]))
    user = make_user("ht.engineer")
    with CaptureQueriesContext(connection) as queries:
        slugs = [t.slug for t in visible_topics(user, kind=None)]
    assert slugs == ["chung", "ticket-01", "ticket-03"]
    assert checked == [] and len(queries) <= 4  # no per-topic check for a kind with a bulk filter


def test_every_registered_kind_answers_the_same_for_one_topic_as_for_a_listing(people_for_threads):
    """A kind's per-topic check and its listing filter are one rule (chat.access): for every kind
    registered with a filter, every person and every topic of the kind, `can_view_topic` agrees with
    `visible_topics`."""
    from chat.access import _registry

    viewers, topics = people_for_threads
    kinds = [kind for kind, access in _registry.items() if access.visible_q is not None]
    assert "ticket" in kinds
    disagreements = []
    for kind in kinds:
        for viewer in viewers:
            listed = {t.pk for t in visible_topics(viewer, kind=kind)}
            disagreements += [(kind, viewer.username, t.slug) for t in Topic.objects.filter(kind=kind)
                              if (t.pk in listed) != can_view_topic(viewer, t)]
    assert disagreements == []
    assert topics and any(can_view_topic(viewers[0], t) for t in topics)


@pytest.fixture
def people_for_threads(make_user):
    from requests.services import add_watcher, create_ticket

    ht = make_user("ht.engineer", centre="HT")
    viewers = [ht, make_user("dn.engineer", centre="DN"), make_user("qb.engineer", centre="QB"),
               make_user("qb.manager", centre="QB", role="manager")]
    made = [create_ticket(by=ht, title="cho DN", category="other", target_centre="DN"),
            create_ticket(by=ht, title="bất kỳ", category="other"),
            create_ticket(by=ht, title="đỏ", category="other", target_centre="DN", tlp="red")]
    add_watcher(made[0], by=ht, username="qb.manager")
    return viewers, [t.thread for t in made]
