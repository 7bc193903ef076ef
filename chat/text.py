"""Text helpers shared by rendering and search: mentions and diacritic folding."""

from __future__ import annotations

import functools
import re
import unicodedata

# @username (letters, digits, . _ -; not ending in punctuation) or @CENTRE. Not preceded by a word
# character, so e-mail addresses (a@b.vn) are not mentions.
MENTION_RE = re.compile(r"(?<![\w@/\\\[])@([A-Za-z0-9](?:[A-Za-z0-9._-]{0,148}[A-Za-z0-9])?)")
# Fenced blocks, then inline code spans: mentions inside code are left as written.
_CODE_RE = re.compile(r"(^|\n)(```|~~~)[^\n]*\n.*?(\n\2[^\n]*(?=\n|$)|$)|`+[^`\n]*`+", re.S)


def split_code(text: str) -> list[tuple[bool, str]]:
    """[(is_code, chunk), ...] covering `text` in order."""
    parts: list[tuple[bool, str]] = []
    pos = 0
    for match in _CODE_RE.finditer(text):
        if match.start() > pos:
            parts.append((False, text[pos:match.start()]))
        parts.append((True, match.group(0)))
        pos = match.end()
    if pos < len(text):
        parts.append((False, text[pos:]))
    return parts


def mention_tokens(text: str) -> list[str]:
    """Every distinct @token written outside code, in order of appearance."""
    seen: dict[str, None] = {}
    for is_code, chunk in split_code(text):
        if not is_code:
            for match in MENTION_RE.finditer(chunk):
                seen.setdefault(match.group(1), None)
    return list(seen)


_EXTRA_FOLD = str.maketrans({"đ": "d", "Đ": "d", "ð": "d", "ł": "l", "ø": "o", "ß": "ss"})


def fold(text: str) -> str:
    """Lower case without diacritics: "Đà Nẵng AN TOÀN" → "da nang an toan"."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_EXTRA_FOLD))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.casefold()


_WORD_RE = re.compile(r"[^\W_]+")  # letters and digits; "_" and "-" separate words, as on PostgreSQL


def search_words(text: str) -> list[str]:
    return _WORD_RE.findall(fold(text))


def search_text(text: str) -> str:
    """The stored form searched by the portable fallback: folded words between single spaces,
    with a space at each end so " word" matches exactly the words that start with it."""
    words = search_words(text)
    return (" " + " ".join(words) + " ") if words else ""


# A word of a message folded for `highlight`: a page of 50 results folds thousands of words, most of
# them the same few hundred, and folding each anew was half of a search request's CPU
# (docs/benchmarks.md, "Search over years"). `fold` is pure, so the cache changes no result.
_fold_word = functools.lru_cache(maxsize=8192)(fold)


def highlight(text: str, words: list[str], *, max_chars: int = 240) -> str:
    """Safe HTML of `text` (or of the part around its first match, when longer than `max_chars`)
    with each word that a search word starts marked `<mark>…</mark>`, as the search matched it
    (case and diacritics folded: "an toan" marks "An toàn"). Everything else is escaped: the only
    markup in the answer is the hub's own `<mark>` (never the author's HTML)."""
    from html import escape

    text = " ".join(unicodedata.normalize("NFC", text).split())
    prefixes = tuple(words)  # str.startswith takes them all at once
    hits = [m for m in _WORD_RE.finditer(text) if _fold_word(m.group(0)).startswith(prefixes)]
    start, end = 0, len(text)
    if len(text) > max_chars:
        first = hits[0].start() if hits else 0
        start = max(0, first - max_chars // 4)
        while start > 0 and not text[start - 1].isspace():
            start -= 1
        end = min(len(text), start + max_chars)
        while end < len(text) and not text[end].isspace():
            end += 1
    out = ["…" if start > 0 else ""]
    pos = start
    for m in hits:
        if m.start() < start or m.end() > end:
            continue
        out.append(escape(text[pos:m.start()]))
        out.append(f"<mark>{escape(m.group(0))}</mark>")
        pos = m.end()
    out.append(escape(text[pos:end]))
    if end < len(text):
        out.append("…")
    return "".join(out)
