"""Vietnamese phone numbers: any common writing in, E.164 and a type out.

libphonenumber (`phonenumbers`) decides what is valid today. Only a number that is not valid
today is tried as a legacy number — an 11-digit mobile from before the 2018 prefix change, or a
landline from before the 2017 area-code change — and the converted number is kept only if it is
valid today: many freed area codes (033, 036-039, 052-059, 070…) are mobile prefixes now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Callable

import phonenumbers
from phonenumbers import PhoneNumberType

# 2018: 11-digit mobiles lost a digit; only the prefix changed.
MOBILE_PREFIXES_2018 = {
    **{f"016{d}": f"03{d}" for d in "23456789"},                                    # Viettel
    "0120": "070", "0121": "079", "0122": "077", "0126": "076", "0128": "078",      # MobiFone
    "0123": "083", "0124": "084", "0125": "085", "0127": "081", "0129": "082",      # VinaPhone
    "0186": "056", "0188": "058",                                                   # Vietnamobile
    "0199": "059",                                                                  # Gmobile
}
# 2017: landline area codes, old → new.
AREA_CODES_2017 = {
    "04": "024", "08": "028", "033": "0203", "0240": "0204", "025": "0205", "026": "0206", "027": "0207",
    "0280": "0208", "0281": "0209", "022": "0212", "0231": "0213", "020": "0214", "0230": "0215", "029": "0216",
    "0320": "0220", "0321": "0221", "0241": "0222", "031": "0225", "0351": "0226", "036": "0227", "0350": "0228",
    "030": "0229", "052": "0232", "053": "0233", "054": "0234", "0510": "0235", "0511": "0236", "037": "0237",
    "038": "0238", "039": "0239", "061": "0251", "062": "0252", "064": "0254", "055": "0255", "056": "0256",
    "057": "0257", "058": "0258", "068": "0259", "060": "0260", "0501": "0261", "0500": "0262", "063": "0263",
    "059": "0269", "070": "0270", "0651": "0271", "072": "0272", "073": "0273", "0650": "0274", "075": "0275",
    "066": "0276", "067": "0277", "0780": "0290", "0781": "0291", "0710": "0292", "0711": "0293", "074": "0294",
    "076": "0296", "077": "0297", "079": "0299",
}


class PhoneType(StrEnum):
    MOBILE = "mobile"
    LANDLINE = "landline"
    HOTLINE = "hotline"
    TOLL_FREE = "toll_free"
    VOIP = "voip"


_TYPES = {PhoneNumberType.MOBILE: PhoneType.MOBILE, PhoneNumberType.FIXED_LINE: PhoneType.LANDLINE,
          PhoneNumberType.PREMIUM_RATE: PhoneType.HOTLINE, PhoneNumberType.TOLL_FREE: PhoneType.TOLL_FREE,
          PhoneNumberType.VOIP: PhoneType.VOIP}


@dataclass(frozen=True)
class Phone:
    e164: str
    type: PhoneType

    @property
    def national(self) -> str:
        """The 0-leading national form (hotlines have none: 1900…, 1800…)."""
        digits = self.e164[3:]
        return digits if digits.startswith(("1800", "1900")) else "0" + digits


_NOT_DIGITS = re.compile(r"\D")


def _national_digits(text: str) -> str | None:
    """The number's national digits (with the leading 0, except 1800/1900), from any writing."""
    digits = _NOT_DIGITS.sub("", text)
    international = "+" in text or digits.startswith("0084")
    if digits.startswith("0084"):
        digits = digits[4:]
    elif digits.startswith("84") and (international or len(digits) in (11, 12)):
        digits = digits[2:]
    if not 8 <= len(digits) <= 11:
        return None
    if digits.startswith(("1800", "1900")) or digits.startswith("0"):
        return digits
    return "0" + digits


@lru_cache(maxsize=1 << 12)  # a list repeats numbers close together; more held ~23 MB for a 7 % hit rate
def _today(national: str) -> Phone | None:
    # `national` is digits already (see _national_digits): the number is built directly rather
    # than through parse(), whose general-purpose text handling was half the normalizer's time.
    if national.startswith("00"):
        return None  # an international prefix with no country code after it
    significant = str(int(national.removeprefix("0")))
    # A Vietnamese number's type is UNKNOWN exactly when it is not valid (is_valid_number's own
    # test): one metadata match instead of two. Cached: a list repeats head-office numbers.
    kind = _TYPES.get(vietnamese_number_type(significant))
    if kind is None:
        return None
    return Phone(f"+84{significant}", kind)  # E.164: +, country code, national significant number


def vietnamese_number_type(significant: str) -> PhoneNumberType:
    """libphonenumber's `number_type` of +84 `significant`, its own test on its own Vietnamese
    metadata, without the general machinery around it (region lookup, a pattern match per type)."""
    types, kinds, fixed_line_or_mobile = _vietnamese_types()
    match = types.fullmatch(significant)
    if match is None:
        return PhoneNumberType.UNKNOWN
    kind = kinds[match.lastgroup]
    if kind == PhoneNumberType.FIXED_LINE and fixed_line_or_mobile(significant):
        return PhoneNumberType.FIXED_LINE_OR_MOBILE
    return kind


@lru_cache(maxsize=1)
def _vietnamese_types() -> tuple[re.Pattern[str], dict[str, int], Callable[[str], bool]]:
    """Vietnam's number descriptions from libphonenumber's metadata as one pattern, read as its
    type test reads them: the number must match the general description, and its type is the
    first description in turn that it matches whole (each with its possible lengths); a fixed
    line is a fixed line or mobile when it also matches the mobile description."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("VN")

    def pattern(desc) -> str | None:
        if desc is None or not desc.national_number_pattern:
            return None
        lengths = "|".join(f".{{{n}}}" for n in desc.possible_length or ())
        return (f"(?=(?:{lengths})\\Z)" if lengths else "") + f"(?:{desc.national_number_pattern})"

    in_turn = [(PhoneNumberType.PREMIUM_RATE, metadata.premium_rate), (PhoneNumberType.TOLL_FREE, metadata.toll_free),
               (PhoneNumberType.SHARED_COST, metadata.shared_cost), (PhoneNumberType.VOIP, metadata.voip),
               (PhoneNumberType.PERSONAL_NUMBER, metadata.personal_number), (PhoneNumberType.PAGER, metadata.pager),
               (PhoneNumberType.UAN, metadata.uan), (PhoneNumberType.VOICEMAIL, metadata.voicemail),
               (PhoneNumberType.FIXED_LINE, metadata.fixed_line)]
    if not metadata.same_mobile_and_fixed_line_pattern:  # else a number matching only the mobile one is UNKNOWN
        in_turn.append((PhoneNumberType.MOBILE, metadata.mobile))
    described = [(kind, p) for kind, desc in in_turn if (p := pattern(desc)) is not None]
    kinds = {f"t{i}": kind for i, (kind, _) in enumerate(described)}
    alternatives = "|".join(f"(?P<t{i}>{p})" for i, (_, p) in enumerate(described))
    general = pattern(metadata.general_desc)
    types = re.compile(f"(?={general}\\Z)(?:{alternatives})" if general else "(?!)")
    mobile = pattern(metadata.mobile)
    also_mobile = re.compile(mobile).fullmatch if mobile else (lambda significant: None)
    return types, kinds, (lambda significant: metadata.same_mobile_and_fixed_line_pattern or also_mobile(significant) is not None)


def _legacy(national: str) -> Phone | None:
    if len(national) == 11 and national[:4] in MOBILE_PREFIXES_2018:
        converted = _today(MOBILE_PREFIXES_2018[national[:4]] + national[4:])
        return converted if converted and converted.type is PhoneType.MOBILE else None
    for length in (4, 3, 2):
        new_code = AREA_CODES_2017.get(national[:length])
        if new_code:
            converted = _today(new_code + national[length:])
            if converted and converted.type is PhoneType.LANDLINE:
                return converted
    return None


_BRACKETED_AREA_CODE = re.compile(r"^\s*\(?(0\d{1,3})\)")


def normalize_phone(text: str) -> Phone | None:
    """One number in any common writing, or None when it is not valid, today or as a legacy number.

    One exception to "today's meaning first": an old area code written in brackets, "(08) 3825
    1234", says the writer meant a landline, though 083… is a mobile prefix today."""
    national = _national_digits(text or "")
    if national is None:
        return None
    bracketed = ")" in text and _BRACKETED_AREA_CODE.match(text)
    if bracketed and bracketed.group(1) in AREA_CODES_2017 and (landline := _legacy(national)):
        return landline
    return _today(national) or _legacy(national)


def area_code_of(phone: Phone) -> str | None:
    """Today's landline area code without the 0 ("24", "28", "236"…), for landlines only."""
    if phone.type is not PhoneType.LANDLINE:
        return None
    national = phone.national
    return national[1:3] if national[1:3] in ("24", "28") else national[1:4]


_EXTENSION = re.compile(r"(?i)[(\[]?\s*(?:ext|máy lẻ|may le|nhánh|nhanh|ml)\b\.?\s*:?\s*\d{1,5}\s*[)\]]?")
_LABELS = re.compile(r"(?i)\b(?:s?đt|s?dt|dđ|dd|di động|tel|phone|mobile|fax|hotline|cq|nr)\b\.?\s*:?")
_SEPARATORS = re.compile(r"(?i)[;,/|\n]|\s[-–]\s|\bvà\b|\bhoặc\b|\bhoac\b|\bor\b")
# A letter (or a non-decimal numeral): every match of _EXTENSION and _LABELS holds one, and most cells have none.
_LETTER = re.compile(r"[^\W\d_]")
_ASCII_DIGIT = re.compile(r"[0-9]")


def _has_digit(piece: str) -> bool:
    """any(c.isdigit() for c in piece); an ASCII string's only digits are 0-9."""
    return _ASCII_DIGIT.search(piece) is not None if piece.isascii() else any(c.isdigit() for c in piece)


def split_phones(text: str | None) -> tuple[list[Phone], list[str]]:
    """A free-text cell of numbers → (valid numbers without duplicates in order, pieces not valid)."""
    phones: list[Phone] = []
    invalid: list[str] = []
    text = text or ""
    cleaned = _LABELS.sub(" ", _EXTENSION.sub(" ", text)) if _LETTER.search(text) else text
    for piece in _SEPARATORS.split(cleaned):
        piece = piece.strip(" .:-")
        if not _has_digit(piece):
            continue
        found = _numbers_in_piece(piece)
        if found is None:
            invalid.append(piece)
            continue
        for phone in found:  # in order, each once
            if phone not in phones:
                phones.append(phone)
    return phones, invalid


def _numbers_in_piece(piece: str) -> list[Phone] | None:
    """One number, or several written one after the other with spaces (or a bare dash) between them."""
    whole = normalize_phone(piece)
    if whole is not None:
        return [whole]
    tokens, found, pending = re.split(r"[\s\-–]+", piece), [], ""
    for token in tokens:
        pending = f"{pending} {token}".strip()
        phone = normalize_phone(pending)
        if phone is not None and len(_NOT_DIGITS.sub("", pending)) >= 10:
            found.append(phone)
            pending = ""
    return found if found and not pending else None


_CANDIDATES = re.compile(r"(?:\(?\+?84\)?[\s.\-]?|0)?\d[\d\s.\-()]{7,16}\d")


def find_phones(text: str) -> list[Phone]:
    """The numbers in free text (an e-mail reply): libphonenumber's matcher finds today's numbers;
    a second pass finds legacy ones (01x mobiles, old area codes) that it rejects."""
    hits: list[tuple[int, Phone]] = []
    matched: list[range] = []
    for match in phonenumbers.PhoneNumberMatcher(text or "", "VN", leniency=phonenumbers.Leniency.VALID):
        phone = normalize_phone(match.raw_string)
        if phone is not None:
            hits.append((match.start, phone))
            matched.append(range(match.start, match.end))
    for match in _CANDIDATES.finditer(text or ""):
        if any(match.start() in span or match.end() - 1 in span for span in matched):
            continue  # the matcher read this number already
        found = _numbers_in_piece(match.group().strip(" .-"))
        hits.extend((match.start(), phone) for phone in found or ())
    ordered: list[Phone] = []
    for _, phone in sorted(hits, key=lambda hit: hit[0]):
        if phone not in ordered:
            ordered.append(phone)
    return ordered
