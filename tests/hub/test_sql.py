"""hub.lib.compiled_queries.CompiledQuery: a queryset's SQL built once, run with new arguments, on either database."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from hub.lib.compiled_queries import CompiledQuery
from hub.models import Centre, User

pytestmark = pytest.mark.django_db


def test_it_answers_what_the_queryset_answers_for_each_argument(make_user):
    people = [make_user(name, centre=code) for name, code in (("a", "HT"), ("b", "DN"), ("c", None))]
    query = CompiledQuery(lambda pk: User.objects.filter(pk=pk).values_list("username", "centre__code"))
    for person in people:
        assert query.rows(person.pk) == list(User.objects.filter(pk=person.pk).values_list("username", "centre__code"))
    assert query.rows(10**9) == []


def test_the_sql_is_built_once_and_each_call_is_one_query(make_user):
    person = make_user("a")
    built = []

    def build(pk):
        built.append(pk)
        return User.objects.filter(pk=pk).values_list("pk")

    query = CompiledQuery(build)
    for _ in range(3):
        with CaptureQueriesContext(connection) as queries:
            assert query.rows(person.pk) == [(person.pk,)]
        assert len(queries) == 1
    assert len(built) == 1


def test_arguments_go_where_their_placeholders_were_and_constants_stay(make_user):
    make_user("a", centre="HT")
    make_user("b", centre="DN")
    query = CompiledQuery(
        lambda low, high: User.objects.filter(pk__gte=low, pk__lte=high, username__in=["a", "b"]).order_by("pk")
        .values_list("username"),
        arity=2,
    )
    first, second = User.objects.order_by("pk").values_list("pk", flat=True)
    assert query.rows(first, second) == [("a",), ("b",)]
    assert query.rows(second, second) == [("b",)]


def test_a_build_that_does_not_pass_an_argument_as_a_parameter_is_refused():
    query = CompiledQuery(lambda pk: Centre.objects.values_list("code"))
    with pytest.raises(ValueError, match="does not use argument"):
        query.rows(1)


def test_a_locking_query_locks_inside_the_callers_transaction(make_user):
    person = make_user("a")
    query = CompiledQuery(lambda pk: User.objects.select_for_update().filter(pk=pk).values_list("pk"))
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        assert query.rows(person.pk) == [(person.pk,)]
    locking = [q["sql"] for q in queries.captured_queries if "hub_user" in q["sql"]]
    assert len(locking) == 1
    assert ("FOR UPDATE" in locking[0]) == connection.features.has_select_for_update


def test_rows_come_back_converted_as_values_list_gives_them(make_user):
    """A date is a date and a JSON list a list on either database, not the driver's raw text."""
    from chat.models import Topic

    person = make_user("a")
    topic = Topic.objects.create(slug="kenh", name_vi="Kênh", name_en="Channel", allowed_roles=["engineer"])
    joined = CompiledQuery(lambda pk: User.objects.filter(pk=pk).values_list("date_joined"))
    roles = CompiledQuery(lambda pk: Topic.objects.filter(pk=pk).values_list("allowed_roles"))
    assert joined.rows(person.pk) == [(User.objects.get(pk=person.pk).date_joined,)]
    assert roles.rows(topic.pk) == [(["engineer"],)]


@pytest.mark.parametrize("centre", ["HT", None])
def test_a_token_loads_the_same_person_and_centre_as_the_orm(make_user, centre):
    from hub.models import ApiToken

    person = make_user("a", centre=centre)
    _token, raw = ApiToken.issue(person, "script")
    found = ApiToken.authenticate(raw)
    assert found is not None
    token, user = found
    expected = User.objects.select_related("centre").get(pk=person.pk)
    fields = [f.attname for f in User._meta.concrete_fields]
    assert [getattr(user, f) for f in fields] == [getattr(expected, f) for f in fields]
    assert (user.centre.code if user.centre is not None else None) == centre
    assert token.user is user and not user._state.adding
    with CaptureQueriesContext(connection) as queries:
        user.first_name = "Lan"
        user.save(update_fields=["first_name"])  # an ordinary loaded instance: an UPDATE, nothing else
    assert len(queries) == 1 and queries.captured_queries[0]["sql"].startswith("UPDATE")


def test_a_revoked_token_or_a_deactivated_person_authenticates_no_one(make_user):
    from hub.models import ApiToken

    person = make_user("a")
    token, raw = ApiToken.issue(person)
    other_token, other_raw = ApiToken.issue(make_user("b"))
    token.revoke()
    User.objects.filter(username="b").update(is_active=False)
    assert ApiToken.authenticate(raw) is None
    assert ApiToken.authenticate(other_raw) is None
    assert ApiToken.authenticate("not-a-token") is None


@pytest.mark.parametrize("centre", ["DN", None])
def test_a_redeemed_ticket_gives_the_same_person_and_centre_as_the_orm_and_its_token(make_user, centre):
    from hub.models import ApiToken, WsTicket

    person = make_user("a", centre=centre)
    token, _raw = ApiToken.issue(person)
    by_token, by_session = WsTicket.issue(person, token), WsTicket.issue(person)
    expected = User.objects.select_related("centre").get(pk=person.pk)
    fields = [f.attname for f in User._meta.concrete_fields]
    for raw, token_id in ((by_token, token.pk), (by_session, None)):
        user = WsTicket.redeem(raw)
        assert user is not None
        assert [getattr(user, f) for f in fields] == [getattr(expected, f) for f in fields]
        assert (user.centre.code if user.centre is not None else None) == centre
        assert user.ws_token_id == token_id and not user._state.adding


def test_a_ticket_is_redeemed_in_one_round_trip_on_postgresql_and_only_once(make_user):
    """The holder's read and the claim are one statement on PostgreSQL (a reconnect storm redeems a
    thousand at once); a used ticket lets no one in, in one statement too."""
    from hub.models import WsTicket

    person = make_user("a", centre="DN")
    raw = WsTicket.issue(person)
    with CaptureQueriesContext(connection) as queries:
        user = WsTicket.redeem(raw)
    assert user is not None and user.pk == person.pk and user.centre is not None and user.centre.code == "DN"
    if connection.vendor == "postgresql":
        assert len(queries) == 1
    claim = WsTicket.objects.get(user=person)
    assert claim.used_at is not None and claim.token_id is None
    with CaptureQueriesContext(connection) as queries:
        assert WsTicket.redeem(raw) is None  # used
    if connection.vendor == "postgresql":
        assert len(queries) == 1
    assert WsTicket.objects.filter(user=person).count() == 1


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_of_concurrent_redemptions_of_one_ticket_exactly_one_gets_the_person(make_user):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    from hub.models import WsTicket

    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: one connection at a time")
    raw = WsTicket.issue(make_user("a", centre="HT"))

    def redeem(_: int):
        try:
            return WsTicket.redeem(raw)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(redeem, range(8)))
    assert sum(answer is not None for answer in answers) == 1


def test_a_ticket_from_a_revoked_token_or_for_a_deactivated_person_lets_no_one_in(make_user):
    from hub.models import ApiToken, WsTicket

    person, other = make_user("a"), make_user("b")
    token, _raw = ApiToken.issue(person)
    from_revoked = WsTicket.issue(person, token)
    token.revoke()
    for_inactive = WsTicket.issue(other)
    User.objects.filter(pk=other.pk).update(is_active=False)
    assert WsTicket.redeem(from_revoked) is None
    assert WsTicket.redeem(for_inactive) is None
