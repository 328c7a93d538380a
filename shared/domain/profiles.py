"""Subscriber profile normalization at the 1090 call centre (SPEC B1-B5, seed 001).

Who is asked for gender, occupation and hobbies on an answered call, who must be persuaded, what
the agent is told, and how a collection result becomes a profile update with the provenance of
every value. Pure: the only I/O is reading the occupation and hobby catalogue.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

from shared.domain.text import fold

# The seed's window is Vietnam wall-clock time whatever offset the telephony platform stamps.
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
WINDOW_OPENS = dt.time(7)
WINDOW_CLOSES = dt.time(22)  # excluded: 22:00 is the first minute of the night shift
LONG_STANDING_YEARS = 5

DEFAULT_CATALOGUE = Path(__file__).parent / "data" / "profile_catalogue.json"
# What the seed records for a customer who refuses, and the change reason of every update.
REFUSAL_OCCUPATION = "Văn phòng (Thư ký, Thư viện, Bưu điện...)"
REFUSAL_HOBBY_GROUP = "Nhóm du lịch"
CHANGE_REASON = "Khách hàng yêu cầu"
GENDERS = frozenset({"male", "female"})


class OwnerType(StrEnum):
    INDIVIDUAL = "individual"
    COMPANY = "company"
    ORGANIZATION = "organization"


class SubscriptionType(StrEnum):
    PREPAID = "prepaid"
    POSTPAID = "postpaid"
    SERVICE = "service"
    TEST = "test"


class Tier(StrEnum):
    STANDARD = "standard"
    PREMIUM = "premium"


class CallReason(StrEnum):
    GENERAL = "general"
    LOST_PHONE = "lost_phone"
    COMPLAINT = "complaint"
    OTHER = "other"


class CustomerMood(StrEnum):
    NORMAL = "normal"
    DIFFICULT = "difficult"


class SkipReason(StrEnum):
    COMPANY_OWNED = "company_owned"
    SERVICE_SUBSCRIPTION = "service_subscription"
    TEST_SIM = "test_sim"
    OUTSIDE_HOURS = "outside_hours"
    PROFILE_COMPLETE = "profile_complete"
    CALLER_NOT_USER = "caller_not_user"
    LOST_PHONE = "lost_phone"
    COMPLAINT = "complaint"
    DIFFICULT_CUSTOMER = "difficult_customer"


class PriorityReason(StrEnum):
    PREMIUM = "premium"
    LONG_STANDING = "long_standing"
    KNDL_MEMBER = "kndl_member"


class ProfileField(StrEnum):
    GENDER = "gender"
    OCCUPATION = "occupation"
    HOBBIES = "hobbies"


class Provenance(StrEnum):
    DECLARED = "declared"
    AGENT_ASSESSED = "agent_assessed"
    REFUSAL_DEFAULT = "refusal_default"


class CollectionOutcome(StrEnum):
    PROVIDED = "provided"
    REFUSED = "refused"
    DROPPED = "dropped"


class Channel(StrEnum):
    CALL_CENTRE = "call_centre"
    STORE = "store"


@dataclass(frozen=True)
class Subscriber:
    msisdn: str
    owner_type: OwnerType
    subscription_type: SubscriptionType
    tier: Tier
    subscribed_since: dt.date
    kndl_member: bool
    gender: str | None
    occupation: str | None
    hobbies: tuple[str, ...]


@dataclass(frozen=True)
class AnsweredCall:
    call_id: str
    msisdn: str
    answered_at: dt.datetime
    call_reason: CallReason
    caller_is_user: bool
    customer_mood: CustomerMood

    def __post_init__(self):
        # A naive time would be read in whatever zone the host runs in, moving the 07:00-22:00 window.
        if self.answered_at.utcoffset() is None:
            raise ValueError(f"answered_at: needs its UTC offset, got {self.answered_at.isoformat()}")


@dataclass(frozen=True)
class Eligibility:
    target: bool
    priority: bool
    priority_reasons: tuple[PriorityReason, ...]
    persuade: bool
    missing_fields: tuple[ProfileField, ...]
    skip_reasons: tuple[SkipReason, ...]


def _text(value: str | None) -> str | None:
    """Trimmed NFC text, None when blank. Vietnamese arrives composed or decomposed depending on
    the keyboard, and both spellings must mean the same catalogue entry."""
    if value is None:
        return None
    return unicodedata.normalize("NFC", value).strip() or None


def _holding(conditions: dict) -> tuple:
    """The keys whose condition holds, sorted by value so events and logs compare equal."""
    return tuple(sorted(key for key, holds in conditions.items() if holds))


def missing_fields(subscriber: Subscriber) -> tuple[ProfileField, ...]:
    return _holding({
        ProfileField.GENDER: _text(subscriber.gender) is None,
        ProfileField.OCCUPATION: _text(subscriber.occupation) is None,
        ProfileField.HOBBIES: not any(_text(hobby) for hobby in subscriber.hobbies),
    })


def _full_years(since: dt.date, on: dt.date) -> int:
    # Comparing (month, day) makes a 29 February start complete its year on 1 March in common years.
    return on.year - since.year - ((on.month, on.day) < (since.month, since.day))


def decide(call: AnsweredCall, subscriber: Subscriber) -> Eligibility:
    local = call.answered_at.astimezone(VIETNAM)
    missing = missing_fields(subscriber)
    skip_reasons = _holding({
        SkipReason.COMPANY_OWNED: subscriber.owner_type != OwnerType.INDIVIDUAL,
        SkipReason.SERVICE_SUBSCRIPTION: subscriber.subscription_type == SubscriptionType.SERVICE,
        SkipReason.TEST_SIM: subscriber.subscription_type == SubscriptionType.TEST,
        SkipReason.OUTSIDE_HOURS: not WINDOW_OPENS <= local.time() < WINDOW_CLOSES,
        SkipReason.PROFILE_COMPLETE: not missing,
        SkipReason.CALLER_NOT_USER: not call.caller_is_user,
        SkipReason.LOST_PHONE: call.call_reason == CallReason.LOST_PHONE,
        SkipReason.COMPLAINT: call.call_reason == CallReason.COMPLAINT,
        SkipReason.DIFFICULT_CUSTOMER: call.customer_mood == CustomerMood.DIFFICULT,
    })
    # Priority is computed for skipped calls too: profile-skipped carries it as well.
    priority_reasons = _holding({
        PriorityReason.PREMIUM: subscriber.tier == Tier.PREMIUM,
        PriorityReason.LONG_STANDING: _full_years(subscriber.subscribed_since, local.date()) >= LONG_STANDING_YEARS,
        PriorityReason.KNDL_MEMBER: subscriber.kndl_member,
    })
    target = not skip_reasons
    return Eligibility(target=target, priority=bool(priority_reasons), priority_reasons=priority_reasons,
                       persuade=target and bool(priority_reasons), missing_fields=missing, skip_reasons=skip_reasons)


# Only occupation and hobbies are asked, in the seed's order; the agent fills gender in from the conversation.
_ASKED_LABELS = {ProfileField.OCCUPATION: "nghề nghiệp", ProfileField.HOBBIES: "sở thích"}
_PRIORITY_LABELS = {
    PriorityReason.PREMIUM: "khách hàng cao cấp",
    PriorityReason.LONG_STANDING: "khách hàng lâu năm từ 5 năm trở lên",
    PriorityReason.KNDL_MEMBER: "hội viên KNDL",
}


def agent_script(eligibility: Eligibility, subscriber: Subscriber) -> str:
    """The agent's guidance (seed 001, steps 2-3), for a call that is a target."""
    if not eligibility.target:
        raise ValueError("agent_script: the call is not a target for profile collection")
    lines = ["Phục vụ yêu cầu của khách hàng trước, theo quy định."]
    asked = [field for field in _ASKED_LABELS if field in eligibility.missing_fields]
    if asked:
        wanted = " và ".join(_ASKED_LABELS[field] for field in asked)
        # The caller may be using another number: name the subscription the profile belongs to.
        lines.append(f"Sau đó gợi ý khách hàng cung cấp thêm {wanted} của thuê bao {subscriber.msisdn} để MobiFone "
                     "chăm sóc khách hàng tốt hơn (không cần xác minh chủ thuê bao).")
        if ProfileField.HOBBIES in asked:
            lines.append("Có thể chọn nhiều nhóm sở thích.")
        if eligibility.persuade:
            reasons = ", ".join(_PRIORITY_LABELS[reason] for reason in eligibility.priority_reasons)
            lines.append(f"Khách hàng ưu tiên ({reasons}): nếu khách hàng từ chối, thuyết phục thêm một lần; "
                         "nếu vẫn không đồng ý, chào và kết thúc cuộc gọi theo quy định.")
        else:
            lines.append("Nếu khách hàng từ chối, chào và kết thúc cuộc gọi theo quy định.")
    if ProfileField.GENDER in eligibility.missing_fields:
        lines.append("Giới tính: tự nhập theo đánh giá qua tiếp xúc với khách hàng, không cần hỏi.")
    return "\n".join(lines)


@dataclass(frozen=True)
class ProfileCatalogue:
    occupations: frozenset[str]
    hobby_groups: frozenset[str]


class UnknownCatalogueValue(ValueError):
    def __init__(self, field: str, value: str):
        super().__init__(f"{field}: {value!r} is not in the profile catalogue")
        self.field = field
        self.value = value


def _catalogue_entries(document: object, key: str, source: Path) -> frozenset[str]:
    entries = document.get(key) if isinstance(document, dict) else None
    if not isinstance(entries, list) or not all(isinstance(entry, str) and _text(entry) for entry in entries):
        raise ValueError(f"{source}: {key} must be a list of non-empty strings")
    return frozenset(_text(entry) for entry in entries)


def load_catalogue(path: Path | None = None) -> ProfileCatalogue:
    source = path or DEFAULT_CATALOGUE
    document = json.loads(source.read_text(encoding="utf-8"))
    catalogue = ProfileCatalogue(occupations=_catalogue_entries(document, "occupations", source),
                                 hobby_groups=_catalogue_entries(document, "hobby_groups", source))
    # A catalogue without the refusal defaults could never record a refusal.
    for key, entries, default in (("occupations", catalogue.occupations, REFUSAL_OCCUPATION),
                                  ("hobby_groups", catalogue.hobby_groups, REFUSAL_HOBBY_GROUP)):
        if default not in entries:
            raise ValueError(f"{source}: {key} lacks the refusal default {default!r}")
    return catalogue


@dataclass(frozen=True)
class ProfileCollection:
    outcome: CollectionOutcome
    channel: Channel
    gender: str | None = None
    gender_source: Provenance | None = None
    occupation: str | None = None
    hobbies: tuple[str, ...] = ()

    def __post_init__(self):
        # Downstream analysis relies on every gender carrying how it was obtained.
        if self.gender_source == Provenance.REFUSAL_DEFAULT:
            raise ValueError("gender_source: a gender is declared or agent-assessed, never a refusal default")
        if (_text(self.gender) is None) != (self.gender_source is None):
            raise ValueError("gender_source: required with a gender, and only with one")


@dataclass(frozen=True)
class FieldValue:
    value: str | tuple[str, ...]
    provenance: Provenance


@dataclass(frozen=True)
class ProfileUpdate:
    """None for a field means unchanged."""
    gender: FieldValue | None
    occupation: FieldValue | None
    hobbies: FieldValue | None
    change_reason: str


@dataclass(frozen=True)
class CallBackNeeded:
    reason: str
    missing_fields: tuple[ProfileField, ...]


def _known(value: str | None, allowed: frozenset[str], field: str) -> str | None:
    """The catalogue's spelling of `value`, None when blank; an unknown value is never stored."""
    text = _text(value)
    if text is not None and text not in allowed:
        raise UnknownCatalogueValue(field, value)
    return text


def _known_hobbies(hobbies: tuple[str, ...], catalogue: ProfileCatalogue) -> tuple[str, ...]:
    # Several groups are allowed; a repeat is the same group once, blanks are no group; order kept.
    known = (_known(hobby, catalogue.hobby_groups, ProfileField.HOBBIES) for hobby in hobbies)
    return tuple(dict.fromkeys(hobby for hobby in known if hobby))


def _answer(value: str | tuple[str, ...] | None, refusal_default: str | tuple[str, ...] | None) -> FieldValue | None:
    if value:
        return FieldValue(value, Provenance.DECLARED)
    return None if refusal_default is None else FieldValue(refusal_default, Provenance.REFUSAL_DEFAULT)


def apply_collection(collection: ProfileCollection, catalogue: ProfileCatalogue,
                     current: Subscriber | None = None) -> ProfileUpdate | CallBackNeeded:
    """The update a collection result makes to the profile `current` (None: unknown, all empty)."""
    has = {ProfileField.GENDER: bool(current and current.gender),
           ProfileField.OCCUPATION: bool(current and current.occupation),
           ProfileField.HOBBIES: bool(current and current.hobbies)}
    gender = _known(collection.gender, GENDERS, ProfileField.GENDER)
    occupation = _known(collection.occupation, catalogue.occupations, ProfileField.OCCUPATION)
    hobbies = _known_hobbies(collection.hobbies, catalogue)
    if collection.outcome == CollectionOutcome.DROPPED:
        # The seed: the agent calls the customer back to complete the profile. Nothing is stored from
        # the interrupted call; missing_fields names what it had not yet captured.
        not_captured = {ProfileField.GENDER: not (gender or has[ProfileField.GENDER]),
                        ProfileField.OCCUPATION: not (occupation or has[ProfileField.OCCUPATION]),
                        ProfileField.HOBBIES: not (hobbies or has[ProfileField.HOBBIES])}
        return CallBackNeeded(reason="call dropped during profile collection", missing_fields=_holding(not_captured))
    refused = collection.outcome == CollectionOutcome.REFUSED
    if not refused and not (gender or occupation or hobbies):
        raise ValueError("outcome: provided, but the collection carries no value")
    # A refusal still records an occupation and a hobby group (the seed's defaults), but only in
    # a field that is empty: an answer given before refusing, or on an earlier call, stays.
    return ProfileUpdate(
        gender=FieldValue(gender, collection.gender_source) if gender else None,
        occupation=_answer(occupation, REFUSAL_OCCUPATION if refused and not has[ProfileField.OCCUPATION] else None),
        hobbies=_answer(hobbies, (REFUSAL_HOBBY_GROUP,) if refused and not has[ProfileField.HOBBIES] else None),
        change_reason=CHANGE_REASON)


def replaces(current_value: object, new_provenance: str | None) -> bool:
    """Whether an update's value replaces the profile's: a refusal default never replaces a value
    the profile has (whatever its provenance), so that no answer is lost to a default."""
    if new_provenance is None:
        return False  # the update leaves the field out
    return not (new_provenance == Provenance.REFUSAL_DEFAULT and current_value)


def tier_of(text: str | None) -> Tier:
    """A tier as a CRM file writes it: premium ("premium", "cao cấp", "VIP") or, whatever else it
    says, standard — the rules only need to know who is premium."""
    return Tier.PREMIUM if fold(text or "") in ("premium", "cao cap", "kh cao cap", "khach hang cao cap", "vip") \
        else Tier.STANDARD


def provenance_of(text: str | None) -> Provenance | None:
    """A provenance as a CRM file writes it; None (unknown) when blank or not one careflow knows."""
    folded = (text or "").strip().lower().replace(" ", "_").replace("-", "_")
    return next((p for p in Provenance if folded == p.value), None)


# --- `careflow eligibility`: one JSON record (call and subscriber together) explained offline ---

def _read(record: dict, name: str, kinds: tuple[type, ...], expected: str):
    if name not in record:
        raise ValueError(f"{name}: missing")
    value = record[name]
    if not isinstance(value, kinds):
        raise ValueError(f"{name}: expected {expected}, got {value!r}")
    return value


def _read_enum(record: dict, name: str, enum: type[StrEnum], notes: list[str] | None = None, unknown=None):
    """A value of `enum`; one careflow does not know is read as `unknown` (with a note) where the
    rules need not know it, and is an error where they do."""
    text = _read(record, name, (str,), "a string")
    try:
        return enum(text)
    except ValueError:
        if unknown is not None and notes is not None:
            notes.append(f"{name} {text!r} is not one careflow knows: read as {unknown.value}")
            return unknown
        raise ValueError(f"{name}: expected one of {', '.join(enum)}, got {text!r}") from None


def _read_timestamp(record: dict, name: str) -> dt.datetime:
    text = _read(record, name, (str,), "an ISO 8601 timestamp")
    try:
        # A time without offset parses here and is rejected by AnsweredCall.
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name}: expected an ISO 8601 timestamp, got {text!r}") from None


def _read_date(record: dict, name: str) -> dt.date:
    text = _read(record, name, (str,), "a date as YYYY-MM-DD")
    # fromisoformat alone would also take 20210315 or 2021-W11-1.
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass  # 2021-02-30 and the like
    raise ValueError(f"{name}: expected a date as YYYY-MM-DD, got {text!r}")


def _read_hobbies(record: dict) -> tuple[str, ...]:
    hobbies = _read(record, "hobbies", (list, type(None)), "a list of strings") or []
    if not all(isinstance(hobby, str) for hobby in hobbies):
        raise ValueError(f"hobbies: expected a list of strings, got {hobbies!r}")
    return tuple(hobbies)


def explain_call(record: dict) -> dict:
    """The eligibility decision for one record, as plain JSON values. A profile value already on
    the record counts as present whatever it says: CRM data predates the catalogue."""
    if not isinstance(record, dict):
        raise ValueError(f"record: expected a JSON object, got {type(record).__name__}")
    call_id = _read(record, "call_id", (str,), "a string")
    if not call_id.strip():
        raise ValueError("call_id: empty")
    string_or_null = (str, type(None))
    notes: list[str] = []
    subscriber = Subscriber(
        msisdn="",  # the number plays no part in the decision and is not part of the record
        owner_type=_read_enum(record, "owner_type", OwnerType),
        subscription_type=_read_enum(record, "subscription_type", SubscriptionType),
        tier=_read_enum(record, "tier", Tier, notes, unknown=Tier.STANDARD),  # only premium matters
        subscribed_since=_read_date(record, "subscribed_since"),
        kndl_member=_read(record, "kndl_member", (bool,), "true or false"),
        gender=_read(record, "gender", string_or_null, "a string or null"),
        occupation=_read(record, "occupation", string_or_null, "a string or null"),
        hobbies=_read_hobbies(record))
    call = AnsweredCall(
        call_id=call_id, msisdn=subscriber.msisdn, answered_at=_read_timestamp(record, "answered_at"),
        # The platform's catalogue grows: a reason careflow does not know is no skip reason.
        call_reason=_read_enum(record, "call_reason", CallReason, notes, unknown=CallReason.OTHER),
        caller_is_user=_read(record, "caller_is_user", (bool,), "true or false"),
        customer_mood=_read_enum(record, "customer_mood", CustomerMood))
    decision = decide(call, subscriber)
    return {"call_id": call_id, "target": decision.target, "priority": decision.priority,
            "missing_fields": [field.value for field in decision.missing_fields],
            "skip_reasons": [reason.value for reason in decision.skip_reasons], "notes": notes}
