"""Message bodies to HTML, with @mentions recognised and turned into links.

Mentions are resolved against the database (a user by exact username, a centre by its code), so only
real people and centres become links and get notified; anything else stays plain text. The hub's
`render_markdown` does the sanitising; the mention links we add go through the same allow-list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from chat.text import MENTION_RE, mention_tokens, split_code
from hub.lib.rendering import render_markdown
from hub.models import Centre, User

USER_PATH = "/people/{}/"
CENTRE_PATH = "/centres/{}/"
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~])")


@dataclass
class Rendered:
    html: str
    users: list[User] = field(default_factory=list)
    centres: list[Centre] = field(default_factory=list)


def resolve_mentions(body: str) -> tuple[dict[str, User], dict[str, Centre]]:
    tokens = mention_tokens(body)
    if not tokens:
        return {}, {}
    users = {u.username: u for u in User.objects.select_related("centre").filter(username__in=tokens)}
    centres = {c.code: c for c in Centre.objects.filter(code__in=[t for t in tokens if t not in users])}
    return users, centres


def _escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def _linker(users: dict[str, User], centres: dict[str, Centre]):
    def replace(match: re.Match) -> str:
        token = match.group(1)
        if token in users:
            return f"[@{_escape(token)}]({USER_PATH.format(token)})"
        if token in centres:
            return f"[@{_escape(token)}]({CENTRE_PATH.format(token)})"
        return match.group(0)

    def preprocess(text: str) -> str:
        return "".join(chunk if is_code else MENTION_RE.sub(replace, chunk) for is_code, chunk in split_code(text))

    return preprocess


_MENTION_LINK = re.compile(r'<a href="(/(people|centres)/[A-Za-z0-9._-]+/)">')


def _mark_mention_links(html: str) -> str:
    def mark(match: re.Match) -> str:
        kind = "user" if match.group(2) == "people" else "centre"
        return f'<a class="mention" data-mention="{kind}" href="{match.group(1)}">'

    return _MENTION_LINK.sub(mark, html)


def render_body(body: str) -> Rendered:
    users, centres = resolve_mentions(body)
    html = render_markdown(body, preprocess=_linker(users, centres) if (users or centres) else None)
    if users or centres:
        html = _mark_mention_links(html)
    return Rendered(html=html, users=list(users.values()), centres=list(centres.values()))
