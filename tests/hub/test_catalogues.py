"""Every msgid of the hub's catalogues reads, at run time, as the hub's catalogue says (docs/ui.md,
"Shadowed strings").

Django merges the catalogues into one: LOCALE_PATHS first, then INSTALLED_APPS in order (first
wins), then Django's own. Django's contrib apps come before ours, so a msgid they also translate
showed their wording in the hub's pages whatever our catalogue said: "Save" read "Lưu lại", "Delete"
"Xóa", "Log out" "Thoát", the ticket list's "Filter" button the admin's noun "Bộ lọc", a webhook's
"active" the verb "Kích hoạt", a chat message's "version" auth's untranslated "version". Our own
apps shadow one another the same way (the yearly report's "Raised" once read the alerts app's
word). A new shadowing fails here, with the msgid and both readings; the fix is a `pgettext`
context where the meaning differs, or an entry in hub/locale_overrides/ where the hub wants its
word everywhere, the admin included.
"""

from __future__ import annotations

import gettext
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.utils import translation
from django.utils.translation import npgettext, pgettext

# (language, context or None, msgid) -> why the run-time reading may differ from our msgstr.
# Empty: every difference found so far was a mistake. An entry needs a reason a reviewer accepts.
ALLOWED_DIFFERENCES: dict[tuple[str, str | None, str], str] = {}

ROOT = Path(settings.BASE_DIR).resolve()
LANGUAGES = [code for code, _name in settings.LANGUAGES]


def our_catalogues(language: str) -> list[tuple[str, Path]]:
    """The `django` domain catalogue of each of the hub's own apps (not Django's, not a package's)."""
    found = []
    for app in apps.get_app_configs():
        path = Path(app.path).resolve()
        mo = path / "locale" / language / "LC_MESSAGES" / "django.mo"
        if path.is_relative_to(ROOT) and ".venv" not in path.parts and mo.exists():
            found.append((app.label, mo))
    return found


def entries(mo: Path) -> list[tuple[str | None, str, bool, str]]:
    """(context, msgid, plural?, msgstr) of a compiled catalogue; a plural entry by its first form."""
    with mo.open("rb") as handle:
        catalog = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
    found = []
    for key, msgstr in catalog.items():
        plural = isinstance(key, tuple)
        if plural:
            key, form = key
            if form != 0:
                continue
        if not key:  # the header
            continue
        context, _sep, msgid = key.rpartition("\x04")
        found.append((context or None, msgid, plural, msgstr))
    return found


def shown(context: str | None, msgid: str, plural: bool) -> str:
    """What the hub shows for the msgid in the active language (the first form of a plural one)."""
    if plural:
        return npgettext(context, msgid, msgid, 1) if context else translation.ngettext(msgid, msgid, 1)
    return pgettext(context, msgid) if context else translation.gettext(msgid)


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_of_our_msgids_reads_as_our_catalogue_says(language: str) -> None:
    shadowed = []
    with translation.override(language):
        for app, mo in our_catalogues(language):
            for context, msgid, plural, ours in entries(mo):
                if (language, context, msgid) in ALLOWED_DIFFERENCES:
                    continue
                got = shown(context, msgid, plural)
                if got != ours:
                    shadowed.append(f"{app}: {context + ' | ' if context else ''}{msgid!r} shows {got!r}, "
                                    f"our catalogue says {ours!r}")
    assert not shadowed, "\n".join(shadowed)


def test_the_check_covers_every_app_of_the_hub() -> None:
    labels = {label for label, _mo in our_catalogues("vi")}
    assert {"hub", "chat", "alerts", "support_requests", "reports", "notify", "frontend", "duty",
            "worktime", "events"} <= labels


def test_the_overrides_are_what_the_hub_shows_in_vietnamese() -> None:
    with translation.override("vi"):
        assert [translation.gettext(m) for m in ("Save", "Delete", "Log out", "version")] == [
            "Lưu", "Xoá", "Đăng xuất", "phiên bản"]
        assert pgettext("verb", "Filter") == "Lọc" and translation.gettext("Filter") == "Bộ lọc"  # the admin's
        assert pgettext("state", "active") == "đang hoạt động"


def test_no_source_lies_where_makemessages_would_file_it_in_an_override_catalogue() -> None:
    """makemessages files a source under the parent of a LOCALE_PATHS entry into that catalogue and
    rewrites it; `make messages` must leave the hand-kept overrides alone."""
    for locale_path in settings.LOCALE_PATHS:
        parent = Path(locale_path).resolve().parent
        sources = [p for p in parent.rglob("*") if p.suffix in {".py", ".html", ".txt", ".js"}]
        assert not sources, sources
