"""Markdown → safe HTML, for every piece of user text shown as HTML (messages, alerts, tickets).

Markdown's output is never trusted: bleach cleans it against an explicit allow-list of tags,
attributes and URL schemes, and every link gets `rel="nofollow noopener"` and opens in a new tab.
Markdown's raw-HTML passthrough is switched off, so HTML typed by the user shows as text.
"""

from __future__ import annotations

import html as html_lib
import re
import threading
import uuid
from collections.abc import Callable, MutableMapping
from urllib.parse import urljoin, urlsplit

import bleach
import markdown
from bleach.linkifier import URL_RE, Linker

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
        # nl2br: a line break typed (Shift+Enter in chat) is a line break shown, as in Slack and Zulip.
        md = markdown.Markdown(extensions=["fenced_code", "tables", "sane_lists", "nl2br"], output_format="html")
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        _local.md = md
    return md


# What a browser removes from anywhere in an address before reading it (the URL standard's "ASCII
# tab or newline"): "/\t/host" is "//host" to it.
_URL_IGNORED = re.compile(r"[\t\n\r]")


def _own(href: str) -> bool:
    """A link to a page of the hub itself: a path ("/alerts/12/"). Not "//host/…" nor "/\\host/…",
    which browsers take as another site's address (a protocol-relative URL) — however written: with
    character references or a tab or newline between the slashes."""
    path = _URL_IGNORED.sub("", html_lib.unescape(href))
    return path.startswith("/") and path[1:2] not in ("/", "\\")


def _link_attrs(attrs: MutableMapping[tuple[str | None, str], str], new: bool = False,
                ) -> MutableMapping[tuple[str | None, str], str]:
    if _own(attrs.get((None, "href"), "")):  # our own links (mentions, an alert's page) stay in the tab
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
            Linker(callbacks=[_link_attrs]),
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


_BLOCK_START = re.compile(r" {0,3}(?:[-*+] +\S|\d{1,9}[.)] +\S|>)")
_FENCE = re.compile(r" {0,3}(```|~~~)")


def separate_blocks(source: str) -> str:
    """A blank line before a list or a quote that directly follows a line of text, outside code fences.

    People type "Steps:" and the list on the next line; Markdown wants a blank line between, and
    without one the list was joined to the text as one paragraph (issue 23). Likewise a line of text
    after a list or a quote ends it, as in Slack and Zulip; indented lines continue the item, and an
    item indented by 1-3 spaces inside a list is nested (Markdown itself wants 4).
    """
    out: list[str] = []
    fence: str | None = None
    in_block = False  # the previous lines are a list or a quote (until a blank line)
    for line in source.split("\n"):
        opening = _FENCE.match(line)
        if fence is not None:
            if opening and opening.group(1) == fence:
                fence = None
            out.append(line)
            continue
        if opening:
            fence = opening.group(1)
            in_block = False
            out.append(line)
            continue
        if not line.strip():
            in_block = False
        elif _BLOCK_START.match(line):
            if out and out[-1].strip() and not in_block:
                out.append("")
            elif in_block and line[:1] == " " and line.lstrip()[:1] in "-*+0123456789":
                line = "    " + line.lstrip()  # a nested item typed with 2 spaces: Markdown wants 4
            in_block = True
        elif in_block and not line.startswith(" "):
            out.append("")  # a line of text after a list or quote ends it (no lazy continuation)
            in_block = False
        out.append(line)
    return "\n".join(out)


def _render_full(source: str) -> str:
    md = _markdown()
    md.reset()
    rendered = md.convert(separate_blocks(source.replace("\r\n", "\n")))
    cleaner, linker = _sanitisers()
    cleaned = rendered if _clean_as_is(rendered) else cleaner.clean(rendered)
    if not _linkable(cleaned):
        return cleaned
    return _linkify_outside_code(linker, cleaned)


# What the cleaner leaves exactly as Markdown wrote it: allow-listed tags without attributes, links to
# the hub's own pages (a path of letters, digits, "_", "-" and "/", not "//"), not nested, and text
# with no "<" or ">" (Markdown writes them as `&lt;` / `&gt;`), no "&" but in `&amp;`, `&lt;`, `&gt;`,
# and no control character but tab and newline. Such HTML is already safe, and the cleaner's html5lib
# parse and re-serialisation of it (a seventh of raising an alert, whose description and summary
# message are usually such: issue 27) gave the same text back; tests/hub/test_rendering.py checks
# that it does for whatever this accepts. Anything else — tables, code blocks, titles, other links,
# entities — goes through the cleaner.
_AS_IS_NAMES = ("p", "strong", "em", "b", "i", "code", "blockquote", "ul", "ol", "li", "del",
                "h1", "h2", "h3", "h4", "h5", "h6")
_AS_IS_TAGS = frozenset([f"<{tag}>" for tag in _AS_IS_NAMES] + [f"</{tag}>" for tag in _AS_IS_NAMES]
                        + ["<br>", "<hr>"])
_ANY_TAG = re.compile(r"<[^<>]*>")
_OWN_LINK_TAG = re.compile(r'<a href="/(?:[A-Za-z0-9_-][A-Za-z0-9_/-]*)?">')
_AS_IS_TEXT = re.compile(r"(?:[^<>&\x00-\x08\x0b-\x1f]|&(?:amp|lt|gt);)*")


def _clean_as_is(html: str) -> bool:
    """Whether `html` (Markdown's output) is one the cleaner would give back unchanged (above)."""
    in_link = False
    position = 0
    for match in _ANY_TAG.finditer(html):
        if _AS_IS_TEXT.fullmatch(html, position, match.start()) is None:
            return False
        tag = match.group(0)
        if tag in _AS_IS_TAGS:
            pass
        elif tag == "</a>" and in_link:
            in_link = False
        elif not in_link and _OWN_LINK_TAG.fullmatch(tag):
            in_link = True
        else:
            return False
        position = match.end()
    return not in_link and _AS_IS_TEXT.fullmatch(html, position) is not None


def _linkable(html: str) -> bool:
    """Whether the linkifier has anything to do in the cleaner's output: a link already there that
    it gives `rel` and `target` (any but our own, whose address starts with "/": `_link_attrs`
    leaves those as they are), or text it would make one (its own URL pattern; it parses no email
    addresses). Without either it re-parsed and re-wrote the HTML unchanged — a second html5lib pass,
    a twelfth of raising an alert, and the summary message of every alert links to the alert's page
    (issue 27); tests/hub/test_rendering.py checks the output is the same both ways."""
    for attributes in _A_TAG.findall(html):
        href = _HREF.search(attributes)
        if href is None or not _own(href.group(1)):
            return True
    return URL_RE.search(html) is not None


_A_TAG = re.compile(r"<a\b([^>]*)>")
_HREF = re.compile(r'\shref="([^"]*)"')


# Code as the cleaner serialises it (well-formed: a <code> inside a <pre> is taken with its <pre>).
_CODE = re.compile(r"<(pre|code)\b[^>]*>.*?</\1>", re.S)


def _linkify_outside_code(linker: Linker, html: str) -> str:
    """Linkify everything but code. bleach's own `skip_tags` escaped the skipped text a second time
    (`&&` in a fenced shell command showed as `&amp;&amp;`), so code is set aside behind a marker
    that nothing links, and put back as the cleaner wrote it."""
    kept: list[str] = []

    def hold(match: re.Match[str]) -> str:
        kept.append(match.group(0))
        return f"hubcode{len(kept) - 1}x{marker}"

    marker = uuid.uuid4().hex
    held = _CODE.sub(hold, html)
    linked = linker.linkify(held)
    return re.sub(rf"hubcode(\d+)x{marker}", lambda m: kept[int(m.group(1))], linked)


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
