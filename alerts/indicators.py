"""Typed indicators of compromise: validation and normalisation, pure functions.

Values are normalised so that the same indicator raised twice compares equal (lower-case domains and
hashes, upper-case CVE ids, compressed IP addresses), and "defanged" spellings that analysts paste
from reports (`evil[.]com`, `hxxp://`) are accepted and stored refanged. Anything else that does not
parse is refused with a reason, which the service turns into a 400 naming the field.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

MAX_VALUE_LENGTH = 2048
HASH_ALGORITHMS = {32: "md5", 40: "sha1", 64: "sha256"}
TYPES = ("ipv4", "ipv6", "domain", "url", "hash", "cve", "email")
# Spellings scripts and SIEMs commonly send; each is stored under its canonical type. An algorithm
# name also pins the hash length ("md5" with 64 digits is refused).
ALIASES = {
    "ip": "ip", "hostname": "domain", "fqdn": "domain", "uri": "url", "file_hash": "hash", "filehash": "hash",
    "md5": "hash", "sha1": "hash", "sha256": "hash", "cve_id": "cve", "email_address": "email",
}

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TLD = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
_HEX = re.compile(r"^[0-9a-f]+$")
_CVE = re.compile(r"^CVE-(\d{4})-(\d{4,7})$")
_DEFANG = [("[.]", "."), ("(.)", "."), ("[dot]", "."), ("[:]", ":"), ("[@]", "@"), ("[at]", "@")]


class InvalidIndicator(ValueError):
    """The value does not parse as its type; the message says why (shown to the user, translated:
    `message` is lazy, `params` fill its placeholders)."""

    def __init__(self, message: str | Promise, **params: Any) -> None:
        self.message = message
        self.params = params
        super().__init__(message)

    def __str__(self) -> str:
        text = str(self.message)
        return text % self.params if self.params else text


@dataclass(frozen=True)
class CleanIndicator:
    type: str
    value: str
    algorithm: str = ""


def refang(value: str) -> str:
    for defanged, plain in _DEFANG:
        value = value.replace(defanged, plain)
    return re.sub(r"^hxxp(s?)://", r"http\1://", value, flags=re.IGNORECASE)


def _ip(value: str, version: int) -> str:
    cls_net = ipaddress.IPv4Network if version == 4 else ipaddress.IPv6Network
    cls_addr = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    try:
        if "/" in value:
            return str(cls_net(value, strict=False))
        return str(cls_addr(value))
    except ValueError:
        raise InvalidIndicator(_("not an IPv%(version)s address or network."), version=version) from None


def _ip_any(value: str) -> CleanIndicator:
    """An address of either family in its canonical form; an IPv4 address written as IPv6
    (`::ffff:203.0.113.7`) is the IPv4 address, so both spellings meet in `seen before`."""
    if ":" in value and "/" not in value:
        try:
            mapped = ipaddress.IPv6Address(value).ipv4_mapped
        except ValueError:
            mapped = None
        if mapped is not None:
            return CleanIndicator("ipv4", str(mapped))
    if ":" in value:
        return CleanIndicator("ipv6", _ip(value, 6))
    return CleanIndicator("ipv4", _ip(value, 4))


def _domain(value: str) -> str:
    value = value.rstrip(".").lower()
    try:
        ascii_name = value.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidIndicator(_("not a valid domain name.")) from None
    if len(ascii_name) > 253:
        raise InvalidIndicator(_("a domain name has at most 253 characters."))
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise InvalidIndicator(_("a domain needs at least two labels, e.g. example.vn."))
    if not all(_LABEL.match(label) for label in labels):
        raise InvalidIndicator(_("domain labels are letters, digits and inner hyphens, 1–63 characters each."))
    if not _TLD.match(labels[-1]):
        raise InvalidIndicator(_("the top-level domain must be letters (or an xn-- label)."))
    return ascii_name


def _host(host: str) -> None:
    try:
        ipaddress.ip_address(host)
        return
    except ValueError:
        pass
    _domain(host)


def _url(value: str) -> str:
    if any(ch.isspace() for ch in value):
        raise InvalidIndicator(_("a URL contains no spaces."))
    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise InvalidIndicator(_("not a valid URL.")) from None
    if parts.scheme.lower() not in {"http", "https", "ftp"}:
        raise InvalidIndicator(_("a URL must start with http://, https:// or ftp://."))
    if not parts.hostname:
        raise InvalidIndicator(_("a URL needs a host."))
    try:
        _host(parts.hostname)
    except InvalidIndicator as exc:
        raise InvalidIndicator(_("the URL's host is invalid: %(problem)s"), problem=exc) from None
    del port
    return parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()).geturl()


def _hash(value: str) -> tuple[str, str]:
    value = value.lower()
    if not _HEX.match(value):
        raise InvalidIndicator(_("a file hash is hexadecimal."))
    algorithm = HASH_ALGORITHMS.get(len(value))
    if algorithm is None:
        raise InvalidIndicator(_("a file hash has 32 (MD5), 40 (SHA-1) or 64 (SHA-256) hex digits."))
    return value, algorithm


def _cve(value: str) -> str:
    value = value.upper()
    match = _CVE.match(value)
    if not match or int(match.group(1)) < 1999:
        raise InvalidIndicator(_("a CVE id looks like CVE-2024-3400 (year from 1999, then 4 to 7 digits)."))
    return value


def _email(value: str) -> str:
    try:
        validate_email(value)
    except ValidationError:
        raise InvalidIndicator(_("not a valid email address.")) from None
    local, _at, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def known_type(type_: object) -> bool:
    return isinstance(type_, str) and (type_.lower() in TYPES or type_.lower() in ALIASES)


def clean(type_: str, value: object) -> CleanIndicator:
    """Validate and normalise one indicator; raises InvalidIndicator (on the value) or ValueError
    (on the type: the caller names a different field for each)."""
    if not known_type(type_):
        raise ValueError(f"unknown indicator type; use one of {', '.join(TYPES)}")
    requested = type_.lower()
    type_ = ALIASES.get(requested, requested)
    if not isinstance(value, str):
        raise InvalidIndicator(_("must be a string."))
    value = refang(value.strip())
    if not value:
        raise InvalidIndicator(_("must not be empty."))
    if len(value) > MAX_VALUE_LENGTH:
        raise InvalidIndicator(_("at most %(n)s characters."), n=MAX_VALUE_LENGTH)
    if type_ == "ip":
        return _ip_any(value)
    if type_ == "ipv4":
        if ":" in value:  # an IPv4 address written as IPv6 (::ffff:a.b.c.d) is that IPv4 address
            mapped = _ip_any(value)
            if mapped.type == "ipv4":
                return mapped
        return CleanIndicator(type_, _ip(value, 4))
    if type_ == "ipv6":
        if ":" not in value:
            raise InvalidIndicator(_("not an IPv6 address or network (an IPv4 address is of type ipv4)."))
        return _ip_any(value)
    if type_ == "domain":
        return CleanIndicator(type_, _domain(value))
    if type_ == "url":
        return CleanIndicator(type_, _url(value))
    if type_ == "hash":
        digest, algorithm = _hash(value)
        if requested in HASH_ALGORITHMS.values() and requested != algorithm:
            raise InvalidIndicator(_("not %(requested)s: %(digits)s hex digits is %(algorithm)s."), requested=requested,
                                   digits=len(digest), algorithm=algorithm)
        return CleanIndicator(type_, digest, algorithm)
    if type_ == "cve":
        return CleanIndicator(type_, _cve(value))
    return CleanIndicator(type_, _email(value))


# --- recognising indicators without a type ------------------------------------------------------

# The order in which an untyped value is tried: the unambiguous shapes first.
GUESS_ORDER = ("cve", "url", "email", "ip", "hash", "domain")


def guess(value: object) -> CleanIndicator:
    """An indicator of whichever type the value parses as (`GET /api/v1/indicators?value=`: the
    analyst pastes a value, defanged or not, without saying what it is)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidIndicator(_("must not be empty."))
    text = refang(value.strip())
    for type_ in GUESS_ORDER:
        if type_ == "url" and "://" not in text:
            continue
        if type_ == "email" and "@" not in text:
            continue
        try:
            return clean(type_, text)
        except InvalidIndicator:
            continue
    raise InvalidIndicator(_("not an IP address, domain, URL, file hash, CVE id or email address."))


# Candidates in free text (a chat message being promoted). Defanged spellings are matched too; each
# candidate then goes through `clean`, so only what the alert form would accept is suggested.
_DOT = r"(?:\.|\[\.\]|\(\.\)|\[dot\])"
_CANDIDATES = [
    ("cve", re.compile(r"\bCVE-\d{4}-\d{4,7}\b", re.IGNORECASE)),
    ("url", re.compile(r"\b(?:https?|hxxps?|ftp)(?:://|\[:\]//)[^\s<>\"'`]+", re.IGNORECASE)),
    ("email", re.compile(r"\b[\w.+-]+(?:@|\[@\]|\[at\])[\w-]+(?:" + _DOT + r"[\w-]+)+\b")),
    ("ip", re.compile(r"(?<![\w.:])(?:\d{1,3}" + _DOT + r"){3}\d{1,3}(?:/\d{1,2})?(?![\w.])")),
    ("ipv6", re.compile(r"(?<![\w:.])(?:[0-9a-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f]{0,4})(?:/\d{1,3})?"
                        r"(?![\w:])", re.IGNORECASE)),
    ("hash", re.compile(r"\b(?:[0-9a-f]{64}|[0-9a-f]{40}|[0-9a-f]{32})\b", re.IGNORECASE)),
    ("domain", re.compile(r"\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?" + _DOT + r")+[a-z]{2,24}\b", re.IGNORECASE)),
]
# Suffixes that end file names far more often than domains in incident chatter ("report.pdf").
_FILE_SUFFIXES = frozenset({"pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "txt", "log", "csv", "zip", "rar",
                            "7z", "exe", "dll", "bat", "ps1", "sh", "js", "py", "php", "html", "htm", "png", "jpg",
                            "jpeg", "gif", "json", "xml", "conf", "ini", "tmp", "bak", "iso", "img", "msi", "vbs"})


def extract(text: str, limit: int = 100) -> list[CleanIndicator]:
    """The indicators written in `text`, normalised and de-duplicated, in order of appearance: what
    a promotion suggests for the person to confirm. Domains inside URLs and emails are not repeated
    on their own, and words that merely look like file names are skipped."""
    found: list[tuple[int, CleanIndicator]] = []
    taken: list[tuple[int, int]] = []
    seen: set[tuple[str, str]] = set()
    for type_, pattern in _CANDIDATES:
        for match in pattern.finditer(text or ""):
            start, end = match.span()
            if any(a <= start < b or a < end <= b for a, b in taken):
                continue
            raw = match.group(0).rstrip(".,;:)]}>")
            if type_ == "domain" and refang(raw).rsplit(".", 1)[-1].lower() in _FILE_SUFFIXES:
                continue
            try:
                indicator = clean(type_, raw)
            except (InvalidIndicator, ValueError):
                continue
            taken.append((start, end))
            key = (indicator.type, indicator.value)
            if key not in seen:
                seen.add(key)
                found.append((start, indicator))
    return [indicator for _, indicator in sorted(found, key=lambda pair: pair[0])][:limit]
