"""A lead: an enterprise of a Vietnam Social Security list, normalized and classified (SPEC A2-A5)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from shared.domain.emails import split_emails
from shared.domain.phones import Phone, PhoneType, split_phones
from shared.domain.provinces import fold, province_from_address, province_from_phone
from shared.domain.tax_codes import normalize_tax_code


class OutreachList(StrEnum):
    CALLABLE = "callable"
    EMAIL_ONLY = "email_only"
    INSUFFICIENT = "insufficient"


@dataclass(frozen=True)
class RawLead:
    tax_code: str | None
    company_name: str | None
    address: str | None
    phones: str | None
    emails: str | None


@dataclass(frozen=True)
class NormalizedLead:
    tax_code: str | None
    tax_code_valid: bool
    company_name: str | None
    province_code: str | None
    phones: tuple[Phone, ...]
    emails: tuple[str, ...]
    invalid_phones: tuple[str, ...]
    invalid_emails: tuple[str, ...]
    # Of the phones, worked out once: an emit reads each twice (its own field and the list's).
    has_mobile: bool
    has_landline: bool  # a landline or a VoIP number

    @property
    def has_email(self) -> bool:
        return bool(self.emails)

    @property
    def outreach_list(self) -> OutreachList:
        if self.has_mobile or self.has_landline:
            return OutreachList.CALLABLE
        return OutreachList.EMAIL_ONLY if self.has_email else OutreachList.INSUFFICIENT


_LANDLINE_TYPES = frozenset({PhoneType.LANDLINE, PhoneType.VOIP})


def normalize_lead(raw: RawLead) -> NormalizedLead:
    tax_code, valid = normalize_tax_code(raw.tax_code)
    phones, invalid_phones = split_phones(raw.phones)
    emails, invalid_emails = split_emails(raw.emails)
    province = province_from_address(raw.address)
    if province is None:  # the address names none: a landline's area code decides
        province = next(filter(None, (province_from_phone(p) for p in phones)), None)
    name = " ".join((raw.company_name or "").split()) or None
    types = {phone.type for phone in phones}
    return NormalizedLead(tax_code, valid, name, province, tuple(phones), tuple(emails), tuple(invalid_phones),
                          tuple(invalid_emails), PhoneType.MOBILE in types, not types.isdisjoint(_LANDLINE_TYPES))


def lead_id(tax_code: str | None, valid: bool, company_name: str | None, province_code: str | None) -> str:
    """The enterprise's identity: its tax code (a branch is a lead of its own); without a valid
    one, its exact normalized name in its province — two spellings stay two leads, never merged on
    a guess."""
    if valid and tax_code:
        return f"mst:{tax_code}"
    digest = hashlib.sha1(fold(company_name or "").encode()).hexdigest()[:16]
    return f"name:{province_code or 'xx'}:{digest}"


def normalize_report(row: int, lead: NormalizedLead) -> dict:
    """One line of `careflow normalize`'s output."""
    return {"row": row, "tax_code": lead.tax_code, "tax_code_valid": lead.tax_code_valid,
            "province_code": lead.province_code,
            "phones": [{"e164": p.e164, "type": p.type.value} for p in lead.phones],
            "invalid_phones": list(lead.invalid_phones), "emails": list(lead.emails),
            "invalid_emails": list(lead.invalid_emails), "outreach_list": lead.outreach_list.value}
