"""Comparing Vietnamese text as people write it: with or without diacritics, any case, any punctuation."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache


def strip_marks(text: str) -> str:
    """The text without diacritics (đ → d), punctuation and case kept."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=1 << 16)  # what is folded repeats: address parts, headers, short replies
def fold(text: str) -> str:
    """Lower-case ASCII words separated by single spaces: no diacritics, đ → d, punctuation → spaces."""
    return " ".join(re.findall(r"[a-z0-9]+", strip_marks(text).casefold()))
