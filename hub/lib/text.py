"""User text: the one check every text field of every model goes through (issue 20, class 7).

Any string a person or a script sends — a ticket's title, a comment, an alert's description, a chat
body, a search query — arrives as arbitrary Unicode from `json.loads`. Three kinds of it broke the hub
with a 500 rather than a clear 400 before this module existed:

- a lone surrogate (`"\\ud800"` is valid JSON, but no UTF-8 encoding exists for it: the database
  driver raises `UnicodeEncodeError`, PostgreSQL's `jsonb` refuses its escape);
- NUL (PostgreSQL's `text` refuses it) and the other C0 control characters, which XML — so every
  XLSX export — cannot hold (openpyxl raises `IllegalCharacterError`);
- text longer than its column, or a body over `HUB_MAX_BODY_BYTES` (413, as on the socket).

Services call `clean_text` (named field, clear message in the caller's language) before they write;
`check_model_text`, connected to every model's `pre_save` (hub/signals.py), refuses the same
characters in anything that is saved some other way, so a new model is covered without anyone
remembering to. Free-text *queries* (`?q=`) go through `clean_query`: capped at
`HUB_MAX_QUERY_CHARS` (400) and a number of words, since each word becomes one more condition.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from hub.errors import TOO_LARGE, HubError, invalid

if TYPE_CHECKING:
    from django.db.models import Model

# C0 controls other than tab, line feed and carriage return; DEL. XML 1.0 (XLSX) refuses all but the
# three, and none of them is ever typed on purpose.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Anything `text_problem` refuses, in one pass (the common case, clean text, costs one search).
_ANY_PROBLEM = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_LINE_BREAK = re.compile(r"[\r\n\u2028\u2029]")
# How many words a free-text query may have: each is one more condition in SQL (a 4,000-word query
# on the ticket list made PostgreSQL give up, and the hub answered 503).
MAX_QUERY_WORDS = 32


def text_problem(value: str) -> Any | None:
    """What is wrong with the characters of `value` (a lazy message), or None."""
    if _ANY_PROBLEM.search(value) is None:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _("is not valid Unicode text (it contains a lone surrogate).")
    if "\x00" in value:
        return _("may not contain NUL characters.")
    if _CONTROL.search(value):
        return _("may not contain control characters.")
    return None


def storable(value: str) -> str:
    """`value` with every character `text_problem` refuses replaced by U+FFFD: for text the hub must
    keep although nobody can be asked to fix it (an inbound email's headers and file names), where
    refusing would lose the message."""
    return _ANY_PROBLEM.sub("\ufffd", value)


def _refuse(field: str, message: Any, **params: Any) -> HubError:
    """A 400 read as `field: problem` (hub.errors.invalid), rendered in the caller's language."""
    return invalid(field, message, **params)


def clean_text(value: Any, *, field: str, max_length: int | None = None, max_bytes: int | None = None,
               required: bool = True, single_line: bool = False, strip: bool = True) -> str:
    """`value` as text fit to store in `field`, or HubError (400, or 413 over `max_bytes`).

    `None` counts as empty. `max_length` is in characters (a column's `max_length`); `max_bytes` in
    UTF-8 bytes, as on the wire (a body's `HUB_MAX_BODY_BYTES`). `single_line` refuses line breaks
    (titles, names: a line break there is never meant, and starts a new row in a careless CSV)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _refuse(field, _("must be a string."))
    problem = text_problem(value)
    if problem is not None:
        raise _refuse(field, problem)
    if strip:
        value = value.strip()
    if required and not value.strip():
        raise _refuse(field, _("must not be empty."))
    if single_line and _LINE_BREAK.search(value):
        raise _refuse(field, _("must be a single line."))
    if max_bytes is not None:
        size = len(value.encode("utf-8"))
        if size > max_bytes:
            raise HubError(TOO_LARGE, _("%(size)s bytes; the limit is %(limit)s."), fields=[field], prefix=field,
                           size=size, limit=max_bytes)
    if max_length is not None and len(value) > max_length:
        raise _refuse(field, _("at most %(n)s characters."), n=max_length)
    return value


def clean_model_text(model: type[Model], name: str, value: Any, **options: Any) -> str:
    """`clean_text` with the column's own `max_length` (one source for the limit: the model)."""
    options.setdefault("max_length", getattr(model._meta.get_field(name), "max_length", None))
    return clean_text(value, field=options.pop("field", name), **options)


def clean_query(value: Any, *, field: str = "q") -> str:
    """A free-text query parameter: '' when absent; at most `HUB_MAX_QUERY_CHARS` characters and
    `MAX_QUERY_WORDS` words, or 400 naming the parameter."""
    if value is None:
        return ""
    text = clean_text(value, field=field, required=False, strip=False)
    limit = settings.HUB_MAX_QUERY_CHARS
    if len(text) > limit:
        raise _refuse(field, _("at most %(n)s characters."), n=limit)
    if len(text.split()) > MAX_QUERY_WORDS:
        raise _refuse(field, _("at most %(n)s words."), n=MAX_QUERY_WORDS)
    return text


def _strings(value: Any) -> Iterable[str]:
    """Every string inside a JSON-like value (keys too)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield key
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


@functools.cache
def _text_fields(model: type[Model]) -> tuple[tuple[str, str, bool], ...]:
    """(attname, name, is JSON) of a model's text and JSON columns, found once per model."""
    from django.db import models

    return tuple((f.attname, f.name, isinstance(f, models.JSONField)) for f in model._meta.concrete_fields
                 if isinstance(f, (models.CharField, models.TextField, models.JSONField)))


def check_model_text(instance: Model) -> None:
    """Refuse (HubError 400) a model instance whose text or JSON fields hold characters no database
    or export can take. The safety net behind `clean_text` (hub/signals.py runs it on `pre_save`);
    deferred fields, which a save does not write, are not loaded for it."""
    values = instance.__dict__
    for attname, name, is_json in _text_fields(type(instance)):
        value = values.get(attname)
        if value is None:
            continue
        if type(value) is str:
            problem = text_problem(value)
            if problem is not None:
                raise _refuse(name, problem)
        elif is_json:
            for text in _strings(value):
                problem = text_problem(text)
                if problem is not None:
                    raise _refuse(name, problem)
