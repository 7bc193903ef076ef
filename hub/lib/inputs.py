"""Numbers and moments from outside: the one place an id written as text becomes an `int`, and the
one range of years a date or time the hub stores or computes with may fall in (review 3).

Ids: `str.isdigit()` is no test for an id. It accepts digits `int()` refuses ("²", "①" — a
ValueError, a 500) and any number of them (`int()` of more than 4,300 digits raises too, and a
20-digit number overflows the 64-bit column: a DataError the API would answer as "database
unavailable"). `parse_id` takes ASCII digits only, at most `MAX_ID`, or raises the translated 400
naming the field; `id_or_none` is the same test for a value that may be an id or something else (a
request's reference).

Moments: a date or time at the calendar's edge (year 1 east of UTC, year 9999 west of it) cannot be
converted to UTC or moved by a duration without leaving Python's range (OverflowError, a 500).
`check_year` keeps what the hub is given within `YEARS` (2000–2999), which no real shift, event,
deadline or report period leaves.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from hub.errors import HubError, invalid

MAX_ID = 2**63 - 1  # ids are 64-bit; anything larger is bad input, not a database error
_MAX_ID_DIGITS = len(str(MAX_ID))
FIRST_YEAR, LAST_YEAR = 2000, 2999
YEARS = range(FIRST_YEAR, LAST_YEAR + 1)


def number_or_none(value: Any, *, low: int = 1, high: int = MAX_ID) -> int | None:
    """`value` (an int, or its text in ASCII digits with spaces around allowed) as a whole number from
    `low` to `high`, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text or len(text) > _MAX_ID_DIGITS or not (text.isascii() and text.isdecimal()):
            return None
        value = int(text)
    if not isinstance(value, int):
        return None
    return value if low <= value <= high else None


def id_or_none(value: Any) -> int | None:
    """`value` as an id from 1 to `MAX_ID`, else None (`number_or_none`)."""
    return number_or_none(value)


def parse_id(value: Any, *, field: str, message: str | Promise | None = None) -> int:
    """`value` as an id (see `id_or_none`), or HubError 400 on `field` (`message`, or "must be an id")."""
    number = id_or_none(value)
    if number is None:
        raise invalid(field, message or _("must be an id (a whole number from 1)."))
    return number


def parse_ids(raw: str, *, field: str, limit: int, message: str | Promise | None = None) -> list[int]:
    """A comma-separated list of at most `limit` ids (empty items skipped), or HubError 400 on `field`
    (`message` may use `%(n)s`, the limit)."""
    parts = [part for part in raw.split(",") if part.strip()]
    numbers = [id_or_none(part) for part in parts[:limit + 1]]
    if len(parts) > limit or None in numbers:
        raise invalid(field, message or _("up to %(n)s ids, separated by commas."), n=limit)
    return [number for number in numbers if number is not None]


def check_year(value: date, *, field: str) -> None:
    """A date or time (as given, in its own offset) within `YEARS`, or HubError 400 on `field`."""
    if value.year not in YEARS:
        raise out_of_years(field)


def out_of_years(field: str) -> HubError:
    return invalid(field, _("a date between the years %(first)s and %(last)s."), first=FIRST_YEAR, last=LAST_YEAR)
