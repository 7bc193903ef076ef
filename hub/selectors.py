"""Reading centres and people the way list pages show them: every centre (a dozen rows) and a page's
people by id, each with the SQL built once per process (hub.lib.compiled_queries). A page of tickets or messages
names a few people many times; loading them once, with their centres from the one centre list,
replaces a joined person and centre instance per row (docs/benchmarks.md, "The ticket list")."""

from __future__ import annotations

from collections.abc import Iterable

from hub.lib.compiled_queries import CompiledQuery, model_fields, model_from_row
from hub.models import Centre, User

# What a person's wire form (`requests.serializers.person`, `chat.serializers.author_out`) reads:
# loading all of a user's columns, password hash and dates included, for up to 100 people was a
# tenth of a ticket-list request's CPU.
PERSON_FIELDS = ("id", "username", "display_name", "first_name", "last_name", "centre_id")

_CENTRES = CompiledQuery(lambda: Centre.objects.values_list(*model_fields(Centre)), arity=0)
_PEOPLE = CompiledQuery(lambda ids: User.objects.filter(pk__in=ids).values_list(*PERSON_FIELDS))


def centres_by_id() -> dict[int, Centre]:
    """Every centre, by id."""
    return {centre.pk: centre for centre in (model_from_row(Centre, row) for row in _CENTRES.rows())}


def people_by_id(ids: Iterable[int], centres: dict[int, Centre] | None = None) -> dict[int, User]:
    """The people with these ids, only `PERSON_FIELDS` loaded (the rest deferred), each with their
    centre attached from `centres` (read when not given)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    if centres is None:
        centres = centres_by_id()
    people: dict[int, User] = {}
    for row in _PEOPLE.rows(wanted):
        person = model_from_row(User, row, attnames=PERSON_FIELDS)
        if person.centre_id is not None:
            person.centre = centres[person.centre_id]
        people[person.pk] = person
    return people


def sees_contact_details(reader: User | Centre | None, person: User) -> bool:
    """Who sees a person's contact details (their email address): the person, the people of the
    person's centre, and hub admins. Colleagues of other centres see a person's name, centre and role
    only (the person page, the roster, every list). `reader` is a centre for a file made for that
    centre's own people — the private subscription feed of its roster, which only its managers give
    out (docs/authorisation.md, "People's contact details")."""
    if isinstance(reader, Centre):
        return person.centre_id is not None and person.centre_id == reader.pk
    if reader is None or not getattr(reader, "is_authenticated", False) or not reader.is_active:
        return False
    if reader.pk == person.pk or reader.is_hub_admin:
        return True
    return reader.centre_id is not None and reader.centre_id == person.centre_id
