"""pydantic's validation errors (what ninja raises for a request that does not fit its schema) in the
caller's language, one `field: problem` per error.

pydantic writes its messages in English only ("Field required", "Input should be a valid integer");
each error also carries a stable `type` and, for the parametrised ones, a `ctx` (`max_length`,
`expected`…), so the hub words the common types itself and falls back on pydantic's English text,
marked as such, for the rare rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# pydantic error type → the problem, with %(name)s filled from the error's `ctx`.
MESSAGES: dict[str, Any] = {
    "missing": _("required."),
    "extra_forbidden": _("unknown field; this endpoint does not take it."),
    "string_type": _("must be a string."),
    "string_unicode": _("must be valid Unicode text."),
    "int_type": _("must be an integer."),
    "int_parsing": _("must be an integer."),
    "int_from_float": _("must be an integer."),
    "int_parsing_size": _("is too large."),
    "float_type": _("must be a number."),
    "float_parsing": _("must be a number."),
    "bool_type": _("must be true or false."),
    "bool_parsing": _("must be true or false."),
    "list_type": _("must be a list."),
    "dict_type": _("must be an object."),
    "model_type": _("must be an object."),
    "model_attributes_type": _("must be an object."),
    "literal_error": _("must be one of %(expected)s."),
    "enum": _("must be one of %(expected)s."),
    "string_too_long": _("at most %(max_length)s characters."),
    "string_too_short": _("at least %(min_length)s characters."),
    "too_long": _("at most %(max_length)s items."),
    "too_short": _("at least %(min_length)s items."),
    "greater_than": _("must be greater than %(gt)s."),
    "greater_than_equal": _("must be at least %(ge)s."),
    "less_than": _("must be less than %(lt)s."),
    "less_than_equal": _("must be at most %(le)s."),
    "datetime_type": _("must be an ISO 8601 date and time."),
    "datetime_parsing": _("must be an ISO 8601 date and time."),
    "datetime_from_date_parsing": _("must be an ISO 8601 date and time."),
    "date_type": _("must be a date as YYYY-MM-DD."),
    "date_parsing": _("must be a date as YYYY-MM-DD."),
    "date_from_datetime_parsing": _("must be a date as YYYY-MM-DD."),
    "json_invalid": _("is not valid JSON."),
    "string_pattern_mismatch": _("does not have the expected form."),
    "none_required": _("must be null."),
}
FALLBACK = _("is not valid (%(reason)s).")
WHOLE_BODY = pgettext_lazy("the request's field at fault", "body")

# ninja's locations start with where the value came from and the view's parameter name.
_SOURCES = {"body", "query", "path", "form", "file", "header", "cookie"}
_PARAMETERS = {"payload", "data", "body", "filters"}


def field_path(loc: Iterable[Any]) -> str:
    """`("body", "payload", "indicators", 0, "type")` → `indicators.0.type`; "" for the whole body."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in _SOURCES:
        parts = parts[1:]
    if len(parts) > 0 and parts[0] in _PARAMETERS:
        parts = parts[1:]
    return ".".join(parts)


def problem(error: Mapping[str, Any]) -> str:
    """One error's problem in the active language."""
    template = MESSAGES.get(str(error.get("type", "")))
    ctx = {key: _plain(value) for key, value in (error.get("ctx") or {}).items()}
    if template is not None:
        try:
            return str(template) % ctx if "%(" in str(template) else str(template)
        except (KeyError, TypeError, ValueError):
            pass
    return str(FALLBACK) % {"reason": str(error.get("msg", "invalid"))}


def describe(errors: Iterable[Mapping[str, Any]]) -> tuple[str, list[str]]:
    """All errors as one `field: problem; …` text, and the fields they name (unique, in order)."""
    lines: list[str] = []
    fields: list[str] = []
    for error in errors:
        path = field_path(error.get("loc", ()))
        lines.append(f"{path or WHOLE_BODY}: {problem(error)}")
        name = path or "body"
        if name not in fields:
            fields.append(name)
    return "; ".join(lines) or str(FALLBACK % {"reason": "?"}), fields


def _plain(value: Any) -> Any:
    # `expected` arrives as "'low', 'medium' or 'high'": pydantic's English "or" is the one word to swap.
    if isinstance(value, str) and " or " in value:
        return value.replace(" or ", ", ")
    return value
