"""The console's Vietnamese catalogue covers every message of its pages, and the committed .mo is
the compiled .po (run `make console-catalogue` after changing a page)."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from shared.console import formatting

LOCALE = formatting.LOCALE_DIR / "vi" / "LC_MESSAGES"


def _extracted() -> set[str]:
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    return {message for _, _, message, *_ in extract_from_dir(
        str(formatting.LOCALE_DIR.parent), method_map, keywords={"_": None, "N_": None},
        options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}) if isinstance(message, str)}


def test_every_message_of_the_pages_has_a_vietnamese_translation():
    catalogue = read_po(open(LOCALE / "messages.po", "rb"))
    translated = {m.id for m in catalogue if m.id and m.string}
    assert _extracted() - translated == set()


def test_the_compiled_catalogue_is_the_po_file():
    po = {m.id: m.string for m in read_po(open(LOCALE / "messages.po", "rb")) if m.id}
    mo = {m.id: m.string for m in read_mo(open(LOCALE / "messages.mo", "rb")) if m.id}
    assert mo == po


def test_vietnamese_formats():
    import datetime as dt

    noon_utc = dt.datetime(2026, 3, 10, 5, 30, tzinfo=dt.timezone.utc)
    assert formatting.when(noon_utc) == "10/03/2026 12:30"
    assert formatting.number(1234567) == "1.234.567"
    assert formatting.masked("+84912345678") == "+849***78"
    assert formatting.translations("vi").gettext("Sign out") == "Đăng xuất"
