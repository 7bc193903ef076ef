"""Keeping only what the person wrote in a reply: the quote and the signature go.

No maintained library strips Vietnamese mail clients' quote headers ("Vào … đã viết:"), so the
rules are here, each one a pattern seen in the clients the centres use (Gmail, Outlook, Thunderbird,
Apple Mail, Zimbra, in Vietnamese and English). Stripping stops at the first line that starts the
quoted part; trailing signature blocks and "sent from my phone" lines go too.
"""

from __future__ import annotations

import html
import re

import bleach

# A line that starts the quoted original (everything from it on is dropped).
_QUOTE_STARTS = [
    re.compile(r"^\s*>"),
    # Gmail / Apple Mail / Thunderbird: "On Mon, 1 Dec 2026 at 10:00, X <x@y> wrote:"
    re.compile(r"^\s*On\b.{0,200}\bwrote:\s*$", re.IGNORECASE),
    # Gmail in Vietnamese: "Vào Th 2, 1 thg 12, 2026 lúc 10:00 X <x@y> đã viết:"
    re.compile(r"^\s*Vào\b.{0,200}đã viết:\s*$", re.IGNORECASE),
    re.compile(r"^.{0,200}<[^<>\s]+@[^<>\s]+>.{0,40}(đã viết|wrote):\s*$", re.IGNORECASE),
    # Outlook: the original's header block
    re.compile(r"^\s*-{2,}\s*(Original Message|Thư gốc|Tin nhắn gốc)\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*_{10,}\s*$"),
]
# Outlook without a separator: "From: …" followed within three lines by "Sent:"/"Date:" (or in Vietnamese).
_HEADER_FROM = re.compile(r"^\s*\*?(From|Từ|Người gửi)\s*:\*?\s.+$", re.IGNORECASE)
_HEADER_NEXT = re.compile(r"^\s*\*?(Sent|Date|To|Subject|Đã gửi|Ngày|Gửi|Đến|Tới|Chủ đề)\s*:", re.IGNORECASE)
# A line that starts a signature (dropped with everything after it).
_SIGNATURE_STARTS = [
    re.compile(r"^-- ?$"),
    re.compile(r"^\s*(Sent from my|Gửi từ|Được gửi từ)\b.*$", re.IGNORECASE),
]


def _wraps_header(lines: list[str], index: int) -> bool:
    """Gmail wraps a long "On … wrote:" line in two: the second ends with "wrote:"."""
    if index + 1 >= len(lines):
        return False
    joined = f"{lines[index].strip()} {lines[index + 1].strip()}"
    return (lines[index].strip().lower().startswith(("on ", "vào "))
            and any(p.match(joined) for p in _QUOTE_STARTS[1:4]))


def strip_reply(text: str) -> str:
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        if any(p.match(line) for p in _QUOTE_STARTS) or _wraps_header(lines, i):
            break
        if _HEADER_FROM.match(line) and any(_HEADER_NEXT.match(n) for n in lines[i + 1:i + 4]):
            break
        if any(p.match(line) for p in _SIGNATURE_STARTS):
            break
        kept.append(line)
    return "\n".join(kept).strip()


_BLOCKS = re.compile(r"<\s*(br|/p|/div|/li|/tr|/h\d|/blockquote)\b[^>]*>", re.IGNORECASE)
_QUOTE_BLOCK = re.compile(r"<blockquote\b.*?</blockquote>|<div[^>]*class=\"?gmail_quote.*$", re.IGNORECASE | re.DOTALL)


def html_to_text(markup: str) -> str:
    """The text of an HTML-only reply: quoted blocks dropped, line breaks kept, tags removed."""
    markup = _QUOTE_BLOCK.sub("", markup or "")
    markup = _BLOCKS.sub("\n", markup)
    text = bleach.clean(markup, tags=set(), strip=True, strip_comments=True)
    lines = [html.unescape(line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
