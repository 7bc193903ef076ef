"""Markdown → safe HTML, for every piece of user text shown as HTML (messages, alerts, tickets).

Markdown's output is never trusted: bleach cleans it against an explicit allow-list of tags,
attributes and URL schemes, and every link gets `rel="nofollow noopener"` and opens in a new tab.
Markdown's raw-HTML passthrough is switched off, so HTML typed by the user shows as text.
"""

from __future__ import annotations

import html as html_lib
import re
import threading
from collections.abc import Callable, MutableMapping
from urllib.parse import urljoin, urlsplit

import bleach
import markdown
from bleach.linkifier import Linker

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "strong", "em", "b", "i", "code", "pre", "blockquote",
        "ul", "ol", "li", "a", "hr", "h1", "h2", "h3", "h4", "h5", "h6",
        "table", "thead", "tbody", "tr", "th", "td", "del", "span",
    }
)
ALLOWED_ATTRIBUTES = {
    "a": ["href", "title", "rel", "target", "class", "data-mention"],
    "code": ["class"],
    "span": ["class"],
    "th": ["align"],
    "td": ["align"],
}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})

_local = threading.local()  # Markdown instances keep state; sync views run in a thread pool


def _markdown() -> markdown.Markdown:
    md = getattr(_local, "md", None)
    if md is None:
        md = markdown.Markdown(extensions=["fenced_code", "tables", "sane_lists"], output_format="html")
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        _local.md = md
    return md


def _link_attrs(attrs: MutableMapping[tuple[str | None, str], str], new: bool = False,
                ) -> MutableMapping[tuple[str | None, str], str]:
    href = attrs.get((None, "href"), "")
    if href.startswith("/"):  # our own links (mentions) stay in the tab
        return attrs
    attrs[(None, "rel")] = "nofollow noopener"
    attrs[(None, "target")] = "_blank"
    return attrs


def _sanitisers() -> tuple[bleach.Cleaner, Linker]:
    """This thread's Cleaner and Linker. They hold an html5lib parser and tree walker with state, so
    sharing them between threads corrupted output and raised (`pop from empty list`) when requests
    rendered concurrently — found by the alert-storm benchmark (1,000 alerts raised at once)."""
    pair = getattr(_local, "sanitisers", None)
    if pair is None:
        pair = _local.sanitisers = (
            bleach.Cleaner(tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, protocols=ALLOWED_PROTOCOLS, strip=True),
            Linker(callbacks=[_link_attrs], skip_tags={"pre", "code"}),
        )
    return pair


# One line of words and everyday punctuation that neither Markdown nor the linkifier acts on: no
# markup characters, HTML or entities, no line breaks, no list or heading start, no dot inside a
# word (a domain, a file name). Most chat messages are such a line; Markdown and the sanitiser cost
# ~1 ms of CPU per message for them (docs/benchmarks.md). tests/hub/test_rendering.py checks
# that the full path renders every text this accepts exactly as `_plain` does.
_PLAIN = re.compile(r"[^\W_](?:[^\W_]|[ ,?!:;%()'\"-]|\.(?![^\W_]))*")
_LIST_START = re.compile(r"\d+[.)]")


def is_plain(text: str) -> bool:
    return (_PLAIN.fullmatch(text) is not None and not text.endswith(" ")
            and _LIST_START.match(text) is None)


def _plain(text: str) -> str:
    return f"<p>{text}</p>"


def render_markdown(text: str, preprocess: Callable[[str], str] | None = None) -> str:
    """Render user Markdown to sanitised HTML.

    `preprocess` runs on the source before Markdown (chat uses it to turn @mentions into Markdown
    links); whatever it produces is still cleaned by the allow-list.
    """
    source = preprocess(text) if preprocess is not None else text
    if is_plain(source):
        return _plain(source)
    return _render_full(source)


def _render_full(source: str) -> str:
    md = _markdown()
    md.reset()
    rendered = md.convert(source)
    cleaner, linker = _sanitisers()
    return linker.linkify(cleaner.clean(rendered))


# An href/src attribute inside a tag of the sanitiser's output: html5lib writes every attribute
# double-quoted with `&` and `"` escaped inside, and `<` in text as `&lt;`, so a `<` starts a tag.
_LINK_ATTR = re.compile(r'(<[A-Za-z][^<>]*?\s(?:href|src)=")([^"]*)(")')


def absolute_links(html: str, base: str) -> str:
    """The same HTML with every relative link made absolute against `base`, the absolute URL of the page
    the HTML is shown on in the hub (a mention's `/people/x/`, a typed `[request](/tickets/5/)`, a
    `#m-12`). Why: an email has no page to resolve them against — a mail client leaves `/people/x/`
    pointing nowhere, or at the webmail's own host. Links with a scheme (`https:`, `mailto:`) stay."""
    def fix(match: re.Match) -> str:
        url = html_lib.unescape(match.group(2))
        if urlsplit(url).scheme:
            return match.group(0)
        return match.group(1) + html_lib.escape(urljoin(base, url), quote=True) + match.group(3)

    return _LINK_ATTR.sub(fix, html)
