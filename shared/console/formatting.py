"""How the console speaks: Vietnamese first (gettext catalogues, English available), times in
Asia/Ho_Chi_Minh as dd/MM/yyyy, Vietnamese number grouping (Babel), contacts masked in lists."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

from shared.domain.provinces import province_name
from shared.observability.logs import redact

LANGUAGES = ("vi", "en")
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
LOCALE_DIR = Path(__file__).with_name("locale")


@cache
def translations(language: str) -> NullTranslations:
    """English is the catalogue's source language; Vietnamese comes from locale/vi (compiled .mo)."""
    if language == "en":
        return NullTranslations()
    return Translations.load(str(LOCALE_DIR), [language], domain="messages")


def when(moment: dt.datetime | None, language: str = "vi") -> str:
    return "" if moment is None else format_datetime(moment, "dd/MM/yyyy HH:mm", tzinfo=VIETNAM, locale=language)


def number(value: float | int | None, language: str = "vi") -> str:
    return format_decimal(value or 0, locale=language)


def masked(contact: str | None) -> str:
    """A phone number or e-mail address as lists show it: +849***78, k***@anphat.com.vn."""
    return redact(contact or "")


def province(code: str | None) -> str:
    return "—" if not code else f"{code} {province_name(code)}"


def countdown(due: dt.datetime | None, now: dt.datetime) -> str:
    """SLA time left (negative when breached) as ±H:MM."""
    if due is None:
        return "—"
    seconds = int((due - now).total_seconds())
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    return f"{sign}{seconds // 3600}:{seconds % 3600 // 60:02d}"
