"""hub.lib.compiled_queries: list arguments and argument-less queries in `CompiledQuery`, partial rows in
`model_from_row`, and PostgreSQL timestamps parsed by psycopg's C loader."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hub.lib.compiled_queries import CompiledQuery, model_from_row
from hub.models import Centre, User

pytestmark = pytest.mark.django_db


def _usernames(ids):
    return list(User.objects.filter(pk__in=ids).order_by("pk").values_list("username"))


def test_a_list_argument_answers_what_the_queryset_answers_for_every_length(make_user):
    people = [make_user(f"p{i}").pk for i in range(4)]
    query = CompiledQuery(lambda ids: User.objects.filter(pk__in=ids).order_by("pk").values_list("username"))
    for ids in (people[:1], people[:3], people, [people[2], people[0]], [people[1], 10**9]):
        assert query.rows(ids) == _usernames(ids)


def test_the_sql_is_built_once_per_list_length(make_user):
    people = [make_user(f"p{i}").pk for i in range(3)]
    lengths = []

    def build(ids):
        lengths.append(len(ids))
        return User.objects.filter(pk__in=ids).values_list("pk")

    query = CompiledQuery(build)
    for ids in ([people[0]], [people[1]], people[:2], people[1:], [people[2]]):
        with CaptureQueriesContext(connection) as queries:
            assert sorted(query.rows(ids)) == [(pk,) for pk in sorted(ids)]
        assert len(queries) == 1
    assert lengths == [1, 2]


def test_an_empty_list_finds_nothing_without_asking_the_database(make_user):
    make_user("a")
    query = CompiledQuery(lambda ids: User.objects.filter(pk__in=ids).values_list("pk"))
    with CaptureQueriesContext(connection) as queries:
        assert query.rows([]) == []
    assert len(queries) == 0


def test_scalar_and_list_arguments_mix(make_user):
    in_ht = [make_user(f"h{i}", centre="HT").pk for i in range(2)]
    in_dn = make_user("d", centre="DN").pk
    query = CompiledQuery(
        lambda centre, ids: User.objects.filter(centre_id=centre, pk__in=ids).order_by("pk").values_list("pk"),
        arity=2,
    )
    ht = Centre.objects.get(code="HT").pk
    assert query.rows(ht, [*in_ht, in_dn]) == [(pk,) for pk in in_ht]
    assert query.rows(ht, [in_dn]) == []


def test_a_query_without_arguments_runs_as_built():
    query = CompiledQuery(lambda: Centre.objects.order_by("code").values_list("code"), arity=0)
    assert query.rows() == list(Centre.objects.order_by("code").values_list("code"))


def test_the_wrong_number_of_arguments_is_refused():
    query = CompiledQuery(lambda pk: Centre.objects.filter(pk=pk).values_list("code"))
    with pytest.raises(TypeError, match="1 argument"):
        query.rows()
    with pytest.raises(TypeError, match="1 argument"):
        query.rows(1, 2)


def test_a_partial_row_makes_an_instance_with_the_rest_deferred(make_user):
    person = make_user("lan", centre="HT")
    fields = ("id", "username", "centre_id")  # not in the model's column order: it need not be
    row = User.objects.filter(pk=person.pk).values_list("centre_id", "id", "username").get()
    loaded = model_from_row(User, (row[1], row[2], row[0]), attnames=fields)
    assert (loaded.pk, loaded.username, loaded.centre_id) == (person.pk, "lan", person.centre_id)
    assert loaded.get_deferred_fields() == {f.attname for f in User._meta.concrete_fields} - set(fields)
    assert not loaded._state.adding
    with CaptureQueriesContext(connection) as queries:
        assert loaded.email == User.objects.get(pk=person.pk).email  # a deferred column loads on use
    assert len(queries) == 2


@pytest.mark.services
def test_postgresql_timestamps_are_parsed_in_c_and_read_exactly_as_django_reads_them():
    from tests.services import require

    require(None if connection.vendor == "postgresql" else "needs PostgreSQL (second pass of make test)")
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader
    from psycopg import pq
    from psycopg.postgres import types

    connection.ensure_connection()
    oid = types["timestamptz"].oid
    loader = connection.connection.adapters.get_loader(oid, pq.Format.TEXT)
    assert loader.__module__ == "hub.lib.compiled_queries" and loader.timezone == connection.timezone

    class DjangoLoader(BaseTzLoader):
        timezone = connection.timezone

    values = ["2026-11-26 13:53:42.123456+00", "2026-01-01 00:00:00+00", "1999-12-31 23:59:59.5+07",
              "2026-06-30 12:00:00.000001-03:30"]
    for text in values:
        data, context = text.encode(), connection.connection
        ours, django = loader(oid, context).load(data), DjangoLoader(oid, context).load(data)
        assert ours == django and ours.tzinfo is django.tzinfo and ours.isoformat() == django.isoformat()
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz", [datetime(2026, 11, 26, 6, 5, 4, 321, tzinfo=UTC)])
        (read,) = cursor.fetchone()
    assert read == datetime(2026, 11, 26, 6, 5, 4, 321, tzinfo=UTC) and read.tzinfo is connection.timezone
