"""Template filters for the notification emails."""

from __future__ import annotations

from django import template

from hub.lib.rendering import absolute_links as _absolute_links

register = template.Library()


@register.filter
def absolute_links(html: str, base: str) -> str:
    """`{{ message.html|absolute_links:url|safe }}`: user HTML with its relative links resolved against
    the item's own page in the hub (`url`), as a browser showing that page would resolve them."""
    return _absolute_links(html or "", base)
