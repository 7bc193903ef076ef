"""TLP and sharing scope: the one vocabulary every item of the hub is marked with.

Every message, alert, ticket, ticket comment and attachment carries a Traffic Light Protocol marking
(FIRST TLP 2.0) and, where it names its readers, a *sharing scope*: `shared_with`, a list of centre
codes, or None for "everyone the item's container allows" (the topic, the alert's TLP audience, the
ticket). This module states what the markings are, how they order, how they look, and how a scope
becomes an `Audience`; each app's `audience_of(item)` (chat, alerts, requests selectors) combines
these with its own container rule, and `hub/realtime/audience.py` enforces the result on every socket
and, as SQL, on every read path. docs/ARCHITECTURE.md ("Where TLP is decided") and
docs/authorisation.csv (the table the tests read) describe the whole.

Why a marking is mostly a label: under TLP 2.0 the *source* decides who receives the information and
the marking tells each *recipient* how far they may pass it on. The hub enforces the receiving side
(the scope, and for alerts the TLP's own audience); the marking is shown on every item, in FIRST's
colours and words, so the onward-sharing rule travels with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from hub.errors import INVALID, HubError
from hub.realtime.audience import Audience


class Tlp(models.TextChoices):
    """FIRST Traffic Light Protocol 2.0 markings, loosest first. The labels are FIRST's and are not
    translated (every language writes TLP:AMBER); their meanings below are."""

    CLEAR = "clear", "TLP:CLEAR"
    GREEN = "green", "TLP:GREEN"
    AMBER = "amber", "TLP:AMBER"
    AMBER_STRICT = "amber+strict", "TLP:AMBER+STRICT"
    RED = "red", "TLP:RED"


TLP_MAX_LENGTH = 12  # "amber+strict"
ORDER: tuple[str, ...] = tuple(Tlp.values)  # loosest → tightest
RANK: dict[str, int] = {value: i for i, value in enumerate(ORDER)}

# FIRST's definitions (https://www.first.org/tlp/), shortened; shown next to every chooser.
MEANINGS = {
    Tlp.CLEAR: _("Disclosure is not limited."),
    Tlp.GREEN: _("Limited disclosure, restricted to the community (the centres of the hub)."),
    Tlp.AMBER: _("Limited disclosure: recipients may share it within their organisation and its clients, "
                 "on a need-to-know basis."),
    Tlp.AMBER_STRICT: _("Limited disclosure: recipients may share it only within their own organisation."),
    Tlp.RED: _("For the eyes and ears of the individual recipients only, no further disclosure."),
}
# FIRST's colours (TLP 2.0, "Colour-coding in RGB"): the label's text on a black background.
COLOURS = {
    Tlp.CLEAR: "#FFFFFF",
    Tlp.GREEN: "#33FF00",
    Tlp.AMBER: "#FFC000",
    Tlp.AMBER_STRICT: "#FFC000",
    Tlp.RED: "#FF2B2B",
}


def rank(tlp: str) -> int:
    return RANK[tlp]


def tightest(*markings: str | None) -> str:
    """The strictest of the markings given (CLEAR when none): what a thing made of others inherits."""
    present = [m for m in markings if m]
    return max(present, key=rank) if present else Tlp.CLEAR


def clean_tlp(value: Any, *, floor: str = Tlp.CLEAR, field: str = "tlp", default: str | None = None) -> str:
    """A valid marking no looser than `floor` (None/"" → `default`, else `floor`). A looser one is
    refused rather than silently tightened: the author must know what their readers will see."""
    if value is None or value == "":
        return default if default is not None and rank(default) >= rank(floor) else floor
    if not isinstance(value, str) or value.lower() not in RANK:
        raise HubError(INVALID, _("%(field)s: must be one of %(values)s."), fields=[field], field=field,
                       values=", ".join(ORDER))
    value = value.lower()
    if rank(value) < rank(floor):
        raise HubError(INVALID, _("%(field)s: may not be looser than TLP:%(floor)s here."), fields=[field],
                       field=field, floor=floor.upper())
    return value


def clean_shared_with(value: Any, *, field: str = "shared_with") -> list[str] | None:
    """A sharing scope as given by a client: None (the container's whole audience) or a list of
    existing centre codes, upper-cased, de-duplicated, in order. An empty list means "the author's
    centre only" (the author's centre is always a reader of what they write)."""
    from hub.models import Centre

    if value is None:
        return None
    if isinstance(value, str):
        value = [part for part in value.replace(";", ",").split(",") if part.strip()]
    if not isinstance(value, list | tuple):
        raise HubError(INVALID, _("%(field)s: a list of centre codes, or null."), fields=[field], field=field)
    codes: list[str] = []
    for i, code in enumerate(value):
        if not isinstance(code, str) or not code.strip() or len(code.strip()) > 10:
            raise HubError(INVALID, _("%(field)s: a list of centre codes, or null."), fields=[f"{field}.{i}"],
                           field=field)
        code = code.strip().upper()
        if code not in codes:
            codes.append(code)
    known = set(Centre.objects.filter(code__in=codes).values_list("code", flat=True))
    for i, code in enumerate(codes):
        if code not in known:
            raise HubError(INVALID, _("%(field)s: no centre with code %(centre)s."), fields=[f"{field}.{i}"],
                           field=field, centre=code)
    return codes


def scope_centres(shared_with: Iterable[str] | None, author_centre: str | None) -> frozenset[str] | None:
    """The centres a scope names, the author's always among them; None when the scope is the whole
    container."""
    if shared_with is None:
        return None
    codes = set(shared_with)
    if author_centre:
        codes.add(author_centre)
    return frozenset(codes)


def scope_audience(shared_with: Iterable[str] | None, author_centre: str | None) -> Audience | None:
    """The people a scope lets read, whatever their role (CONTRACT: "the people of the listed centres
    and the author's"); None when the scope does not narrow the container."""
    centres = scope_centres(shared_with, author_centre)
    return None if centres is None else Audience(centres=centres)


def within(scope: Iterable[str] | None, outer: Iterable[str] | None) -> bool:
    """Whether scope `scope` is no wider than `outer` (None = unrestricted)."""
    if outer is None:
        return True
    if scope is None:
        return False
    return set(scope) <= set(outer)


def tlp_out(tlp: str) -> dict[str, str]:
    """How a client shows a marking without knowing TLP: FIRST's label, colour and meaning in the
    caller's language (docs/api.md, `GET /api/v1/tlp`)."""
    return {"value": tlp, "label": str(Tlp(tlp).label), "colour": COLOURS[Tlp(tlp)],
            "meaning": str(MEANINGS[Tlp(tlp)])}
