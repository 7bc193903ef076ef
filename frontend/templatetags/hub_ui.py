"""`{% hub_user as hub_user %}`: what the page header and the JavaScript client need to know about the
viewer, computed from the request, so every page that extends frontend/base.html (including other
apps' pages, e.g. reports) gets the same header without its view having to pass anything."""

from __future__ import annotations

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def hub_user(context) -> dict | None:
    from frontend.views import hub_user as describe

    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return describe(user)


@register.simple_tag
def tlp_vocabulary() -> list[dict[str, str]]:
    """`{% tlp_vocabulary as tlp %}`: FIRST's TLP 2.0 markings as the page's script shows them (label,
    colour, meaning in the active language), from the one vocabulary, hub/sharing.py."""
    from hub.sharing import ORDER, tlp_out

    return [tlp_out(value) for value in ORDER]
