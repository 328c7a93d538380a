"""Contact rules (SPEC "Contact rules"; Decree 91/2020/NĐ-CP on spam, 2025 Personal Data Protection Law).

Pure functions: no I/O, the current time is passed in as a timezone-aware datetime.

- Marketing needs prior consent for the channel (granted and not withdrawn); a number on the
  national Do-Not-Call list gets no marketing SMS or calls (e-mail is not affected).
- Marketing SMS only 07:00-22:00, marketing calls only 08:00-17:00 Vietnam time, unless the customer
  agreed to other hours; a request outside the hours is scheduled for the next permitted time.
- Per contact and rolling 24 h at most 3 SMS, 3 e-mails, 1 call; a request over the cap is scheduled
  for when the window frees (and then the next permitted time).
- Service (non-marketing) messages skip consent, DNC, hours and caps; an erased person gets nothing.
- Marketing SMS start with "[QC]"; every marketing message carries an opt-out.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, NamedTuple

from shared.domain.text import fold, strip_marks

DAY = dt.timedelta(hours=24)
_VIETNAM = "Asia/Ho_Chi_Minh"


class Channel(str, Enum):
    SMS = "sms"
    EMAIL = "email"
    CALL = "call"


# Channels the national Do-Not-Call list covers.
DNC_CHANNELS = frozenset({Channel.SMS, Channel.CALL})

Hours = tuple[dt.time, dt.time]
# "Any time": a window from midnight to midnight contains every moment (see in_hours).
ANY_HOURS: Hours = (dt.time(0), dt.time(0))
_ANY_TIME_WORDS = {"any", "any time", "anytime", "24 7", "24h", "all day", "bat ky", "bat ky luc nao",
                   "bat ky gio nao", "moi luc", "moi gio", "ca ngay", "khong gioi han", "tu do"}
_TIME = r"(\d{1,2})\s*(?:[:h.]\s*(\d{2})?)?\s*h?"
_WINDOW = re.compile(rf"^{_TIME}\s*(?:-|–|—|\s(?:den|to|toi)\s)\s*{_TIME}$")


def parse_agreed_hours(text: str | None) -> Hours | None:
    """The hours a customer agreed to be contacted in, as consent lists write them: "any time" (bất
    kỳ, mọi lúc, 24/7 ...) or a window in Vietnam time ("08:00-20:00", "8h-20h30", "từ 8h đến 20h").
    None when blank; ValueError when unreadable (never guessed)."""
    folded = fold(text or "")
    if not folded:
        return None
    if folded in _ANY_TIME_WORDS:
        return ANY_HOURS
    plain = strip_marks(text or "").lower().strip()
    found = _WINDOW.match(re.sub(r"^tu\s+", "", plain))
    if found:
        h1, m1, h2, m2 = found.groups()
        try:
            return (dt.time(int(h1), int(m1 or 0)), dt.time(int(h2) % 24 if int(h2) == 24 else int(h2), int(m2 or 0)))
        except ValueError:
            pass
    raise ValueError(f"agreed hours: expected 'any time' or a window like 08:00-20:00, got {text!r}")


def format_hours(hours: Hours) -> str:
    return "any" if hours == ANY_HOURS else f"{hours[0]:%H:%M}-{hours[1]:%H:%M}"


def _default_caps() -> dict[Channel, int]:
    return {Channel.SMS: 3, Channel.EMAIL: 3, Channel.CALL: 1}


@dataclass(frozen=True)
class ContactPolicy:
    """Configurable limits; the defaults are the legal ones. `None` hours means any time."""

    sms_hours: Hours | None = (dt.time(7), dt.time(22))
    call_hours: Hours | None = (dt.time(8), dt.time(17))
    email_hours: Hours | None = None
    daily_caps: Mapping[Channel, int] = field(default_factory=_default_caps)
    timezone: str = _VIETNAM
    sms_prefix: str = "[QC]"
    sms_shortcode: str = "9029"
    sms_opt_out: str = "Từ chối nhận QC: soạn TC gửi {shortcode}"
    email_subject_prefix: str = ""
    email_opt_out: str = ("Nếu không muốn nhận thư quảng cáo, vui lòng trả lời thư này "
                          "với nội dung \"Từ chối\" hoặc \"Hủy đăng ký\".")

    def __post_init__(self) -> None:
        for name in ("sms_hours", "call_hours", "email_hours"):
            hours = getattr(self, name)
            if hours is not None:
                if len(hours) != 2 or not all(isinstance(t, dt.time) for t in hours) or hours[0] == hours[1]:
                    raise ValueError(f"{name} must be two different times, got {hours!r}")
        caps = {Channel(k): v for k, v in dict(self.daily_caps).items()}
        for channel, cap in caps.items():
            if not isinstance(cap, int) or isinstance(cap, bool) or cap < 0:
                raise ValueError(f"daily cap for {channel.value} must be a non-negative integer, got {cap!r}")
        missing = set(Channel) - set(caps)
        if missing:
            raise ValueError(f"daily_caps lacks {sorted(c.value for c in missing)}")
        object.__setattr__(self, "daily_caps", caps)
        tzinfo(self.timezone)  # raises on an unknown zone

    def __hash__(self) -> int:
        return hash((self.sms_hours, self.call_hours, self.email_hours, tuple(sorted(self.daily_caps.items())),
                     self.timezone, self.sms_prefix, self.sms_shortcode, self.sms_opt_out, self.email_subject_prefix,
                     self.email_opt_out))

    def hours(self, channel: Channel | str) -> Hours | None:
        return {Channel.SMS: self.sms_hours, Channel.CALL: self.call_hours,
                Channel.EMAIL: self.email_hours}[Channel(channel)]

    def cap(self, channel: Channel | str) -> int:
        return self.daily_caps[Channel(channel)]

    @property
    def sms_opt_out_text(self) -> str:
        return self.sms_opt_out.format(shortcode=self.sms_shortcode)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ContactPolicy:
        """From a JSON-style mapping: hours as ["07:00", "22:00"] or null, daily_caps as
        {"sms": 3, ...} (merged over the defaults). Unknown keys → ValueError naming them."""
        known = {"sms_hours", "call_hours", "email_hours", "daily_caps", "timezone", "sms_prefix", "sms_shortcode",
                 "sms_opt_out", "email_subject_prefix", "email_opt_out"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown contact policy key(s): {', '.join(unknown)}")
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key.endswith("_hours"):
                kwargs[key] = _parse_hours(key, value)
            elif key == "daily_caps":
                if not isinstance(value, Mapping):
                    raise ValueError(f"daily_caps must be an object, got {value!r}")
                bad = sorted(k for k in value if k not in {c.value for c in Channel})
                if bad:
                    raise ValueError(f"unknown daily_caps channel(s): {', '.join(bad)}")
                kwargs[key] = {**_default_caps(), **{Channel(k): v for k, v in value.items()}}
            else:
                if not isinstance(value, str):
                    raise ValueError(f"{key} must be a string, got {value!r}")
                kwargs[key] = value
        return cls(**kwargs)


def _parse_hours(key: str, value: Any) -> Hours | None:
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValueError(f"{key} must be [start, end] like [\"07:00\", \"22:00\"] or null, got {value!r}")
    try:
        return (dt.time.fromisoformat(value[0]), dt.time.fromisoformat(value[1]))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{key}: bad time in {value!r}") from exc


@functools.lru_cache(maxsize=64)  # a rule asks for the zone on every hours check
def tzinfo(name: str | dt.tzinfo) -> dt.tzinfo:
    """A tzinfo for a zone name; Vietnam (no DST since 1975) falls back to a fixed UTC+7 when the
    system has no tz database."""
    if isinstance(name, dt.tzinfo):
        return name
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        if name == _VIETNAM:
            return dt.timezone(dt.timedelta(hours=7), "ICT")
        raise ValueError(f"unknown timezone {name!r}") from exc


# --- consent -------------------------------------------------------------------------------------

_STATUSES = ("granted", "withdrawn", "dnc_listed", "dnc_removed", "erased")


def _channels(channel: Channel | str) -> frozenset[Channel]:
    value = channel.value if isinstance(channel, Channel) else str(channel)
    if value == "all":
        return frozenset(Channel)
    try:
        return frozenset({Channel(value)})
    except ValueError:
        raise ValueError(f"unknown consent channel {channel!r}") from None


@dataclass(frozen=True)
class ConsentState:
    """What we know about one phone number or e-mail address."""

    granted: frozenset[Channel] = frozenset()
    withdrawn: frozenset[Channel] = frozenset()
    dnc_listed: bool = False
    erased: bool = False
    # Hours the person agreed to be contacted in, per channel, instead of the legal ones (ANY_HOURS: any time).
    agreed_hours: tuple[tuple[Channel, Hours], ...] = ()

    @classmethod
    def unknown(cls) -> ConsentState:
        return _UNKNOWN

    def hours_agreed(self, channel: Channel) -> Hours | None:
        return next((hours for agreed, hours in self.agreed_hours if agreed is channel), None)

    def apply(self, status: str, channel: Channel | str, agreed_hours: Hours | None = None) -> ConsentState:
        """The state after a consent-changed event (status, channel ∈ sms/email/call/all), with the
        hours a grant was agreed for; a withdrawal forgets them.

        Erasure is final: an erased contact stays erased whatever comes later."""
        status = getattr(status, "value", status)
        if status not in _STATUSES:
            raise ValueError(f"unknown consent status {status!r}")
        channels = _channels(channel)
        if self.erased:
            return self
        others = tuple((c, h) for c, h in self.agreed_hours if c not in channels)
        if status == "granted":
            agreed = others + tuple((c, agreed_hours) for c in sorted(channels, key=lambda c: c.value)
                                    if agreed_hours) if agreed_hours else self.agreed_hours
            return replace(self, granted=self.granted | channels, withdrawn=self.withdrawn - channels,
                           agreed_hours=agreed)
        if status == "withdrawn":
            return replace(self, granted=self.granted - channels, withdrawn=self.withdrawn | channels,
                           agreed_hours=others)
        if status == "dnc_listed":
            return replace(self, dnc_listed=True)
        if status == "dnc_removed":
            return replace(self, dnc_listed=False)
        return ConsentState(erased=True)

    def allows_marketing(self, channel: Channel | str) -> bool:
        channel = Channel(channel)
        return (not self.erased and channel in self.granted and channel not in self.withdrawn
                and not (self.dnc_listed and channel in DNC_CHANNELS))


# --- decisions -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Send:
    """Allowed: send now (`not_before` None) or no earlier than `not_before`."""

    not_before: dt.datetime | None = None


@dataclass(frozen=True)
class Blocked:
    """Not allowed: reason is one of erased, withdrawn, dnc_listed, no_consent, no_capacity."""

    reason: str


Decision = Send | Blocked


def _aware(value: dt.datetime, what: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {value!r}")
    return value


def in_hours(at: dt.datetime, hours: Hours | None, tz: str | dt.tzinfo = _VIETNAM) -> bool:
    """Whether `at` falls in [start, end) local time (a window may wrap past midnight)."""
    if hours is None:
        return True
    start, end = hours
    local = _aware(at, "at").astimezone(tzinfo(tz)).time().replace(tzinfo=None)
    return start <= local < end if start < end else (local >= start or local < end)


def next_permitted(now: dt.datetime, hours: Hours | None, tz: str | dt.tzinfo = _VIETNAM) -> dt.datetime:
    """`now` itself when inside the hours, else the next start of the hours (in zone `tz`)."""
    _aware(now, "now")
    if in_hours(now, hours, tz):
        return now
    zone = tzinfo(tz)
    local = now.astimezone(zone)
    start = hours[0]  # type: ignore[index]  # hours is not None here
    day = local.date() if local.time().replace(tzinfo=None) < start else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, start, tzinfo=zone)


def _fits(at: dt.datetime, sends: Sequence[dt.datetime], cap: int) -> bool:
    """Whether one more send at `at` keeps every rolling 24 h window (x - 24 h, x] at most `cap`."""
    # The windows that would contain `at` end at x ∈ [at, at + 24 h); their counts change only at
    # x = at and where an existing send enters.
    ends = [at] + [s for s in sends if at < s < at + DAY]
    return all(sum(1 for s in sends if x - DAY < s <= x) < cap for x in ends)


_UNKNOWN = ConsentState()  # immutable: one for every contact no consent is known for (`ConsentState.unknown`)

# A refusal's decision, one for each reason (immutable; equal to any other with its reason).
_BLOCKED = {reason: Blocked(reason) for reason in ("erased", "withdrawn", "dnc_listed", "no_consent")}
_SEND_NOW = Send(None)


def _refusal(channel: Channel, marketing: bool, consent: ConsentState) -> str | None:
    """The refusals that need no send times (erased, then for marketing withdrawn, DNC-listed, no consent), in
    the rules' order; None when the rules go on to the hours and caps."""
    if consent.erased:
        return "erased"
    if not marketing:
        return None
    if channel in consent.withdrawn:
        return "withdrawn"
    if consent.dnc_listed and channel in DNC_CHANNELS:
        return "dnc_listed"
    if channel not in consent.granted:
        return "no_consent"
    return None


def decide(channel: Channel | str, marketing: bool, consent: ConsentState, recent_sends: Sequence[dt.datetime],
           now: dt.datetime, policy: ContactPolicy | None = None) -> Decision:
    """May we contact this person on this channel, and when?

    `recent_sends`: times of earlier marketing sends to this contact on this channel (past ones and
    ones already scheduled; anything older than 24 h is ignored)."""
    policy = policy or ContactPolicy()
    if channel.__class__ is not Channel:  # the enum's lookup costs more than the rest of a refusal
        channel = Channel(channel)
    _aware(now, "now")
    refusal = _refusal(channel, marketing, consent)
    if refusal is not None:
        return _BLOCKED[refusal]
    if not marketing:
        return _SEND_NOW
    hours = consent.hours_agreed(channel) or policy.hours(channel)
    cap = policy.cap(channel)
    if cap == 0:
        return Blocked("no_capacity")
    sends = sorted(_aware(s, "a send time") for s in recent_sends)
    sends = [s for s in sends if s > now - DAY]
    # The earliest time is `now` or the moment a send leaves the window, moved into the hours.
    candidates = sorted({next_permitted(c, hours, policy.timezone)
                         for c in [now, *(s + DAY for s in sends if s + DAY > now)]})
    for at in candidates:
        if _fits(at, sends, cap):
            return Send(None if at <= now else at)
    raise AssertionError("unreachable: after the last send leaves the window there is room")  # pragma: no cover


class Verdict(NamedTuple):
    """One request of a lead's plan (`decide_plan`): its decision, and the reason kept for the funnel —
    the refusal's, or "hours" for a marketing send moved to the next permitted hours — None otherwise."""

    channel: Channel
    contact: str
    decision: Decision
    kept: str | None = None


def decide_plan(emails: Sequence[str], mobiles: Sequence[str], calls: Sequence[tuple[str, bool]],
                consents: Mapping[str, ConsentState],
                recent_sends: Mapping[tuple[Channel, str], Sequence[dt.datetime]],
                now: dt.datetime, policy: ContactPolicy | None = None) -> list[Verdict]:
    """A lead's whole channel plan at `now`, in one call, as `decide` decides each request in turn: an
    e-mail (marketing) to each of `emails`, an SMS (marketing) to each of `mobiles`, then a call to each
    of `calls` (number, marketing) in turn until one is allowed (the later numbers are not asked).

    `consents`: each contact's state (a contact not in it: unknown). `recent_sends`: for each (channel,
    contact) whose consent allows that marketing, the times of its earlier marketing sends (as `decide`
    takes them; KeyError when one is missing); the plan's own sends count towards the caps of the requests
    after them. Each verdict keeps what a lead's funnel records: the refusal, or "hours" when a marketing
    send waits for the permitted hours."""
    policy = policy or ContactPolicy()
    _aware(now, "now")
    unknown = _UNKNOWN
    verdicts: list[Verdict] = []
    planned: dict[tuple[Channel, str], list[dt.datetime]] = {}

    def one(channel: Channel, contact: str, marketing: bool) -> Verdict:
        consent = consents.get(contact, unknown)
        refusal = _refusal(channel, marketing, consent)
        if refusal is not None:
            return Verdict(channel, contact, _BLOCKED[refusal], refusal)
        if not marketing:
            return Verdict(channel, contact, _SEND_NOW)
        key = (channel, contact)
        sends = recent_sends[key]
        if key in planned:
            sends = [*sends, *planned[key]]
        decision = decide(channel, True, consent, sends, now, policy)
        if isinstance(decision, Blocked):
            return Verdict(channel, contact, decision, decision.reason)
        planned.setdefault(key, []).append(decision.not_before or now)
        hours = consent.hours_agreed(channel) or policy.hours(channel)
        waits = decision.not_before is not None and not in_hours(now, hours, policy.timezone)
        return Verdict(channel, contact, decision, "hours" if waits else None)

    for address in emails:
        verdicts.append(one(Channel.EMAIL, address, True))
    for mobile in mobiles:
        verdicts.append(one(Channel.SMS, mobile, True))
    for number, marketing in calls:
        verdict = one(Channel.CALL, number, marketing)
        verdicts.append(verdict)
        if isinstance(verdict.decision, Send):
            break
    return verdicts


# --- message shaping -----------------------------------------------------------------------------

def marketing_sms_text(body: str, policy: ContactPolicy | None = None) -> str:
    """`body` starting with the "[QC]" label (once) and ending with the opt-out text (once)."""
    policy = policy or ContactPolicy()
    text = " ".join(body.split())
    prefix, opt_out = policy.sms_prefix, policy.sms_opt_out_text
    if prefix:
        while text.casefold().startswith(prefix.casefold()):
            text = text[len(prefix):].lstrip()
    if opt_out and text.endswith(opt_out):
        text = text[: -len(opt_out)].rstrip()
    return " ".join(part for part in (prefix, text, opt_out) if part)


def marketing_email(subject: str, body: str, policy: ContactPolicy | None = None) -> tuple[str, str]:
    """(subject, body) with the subject label, if any is configured, and the opt-out footer (once)."""
    policy = policy or ContactPolicy()
    subject = subject.strip()
    prefix = policy.email_subject_prefix
    if prefix and not subject.casefold().startswith(prefix.casefold()):
        subject = f"{prefix} {subject}"
    body = body.rstrip()
    footer = policy.email_opt_out
    if footer and not body.endswith(footer):
        body = f"{body}\n\n--\n{footer}" if body else footer
    return subject, body


# --- stop requests -------------------------------------------------------------------------------

_QUOTE_START = re.compile(
    r"^\s*(?:>|-{2,}\s*(?:original message|forwarded message|thư gốc)|"
    r"on .{0,200} wrote:|vào .{0,200} (?:đã )?viết:|from:\s|từ:\s)", re.IGNORECASE)


def _strip_quoted(text: str, policy: ContactPolicy) -> str:
    """The reply without the quoted original message and without our own opt-out texts."""
    kept = []
    for line in text.splitlines():
        if _QUOTE_START.match(line):
            break
        kept.append(line)
    reply = "\n".join(kept)
    for own in (policy.email_opt_out, policy.sms_opt_out_text):
        if own:
            reply = reply.replace(own, " ")
    return reply


# What a Vietnamese stop phrase is about: "ngừng gửi tin", "từ chối nhận QC", "đừng gửi nữa" ...
_OBJ = r"(?:qc|quang cao|tin|tin nhan|sms|email|e mail|mail|thu|cuoc goi|goi|lien he|cho toi|toi|cho em|em|nua)"

_STOP_PATTERNS = [re.compile(p) for p in (
    # Vietnamese, compared without diacritics
    rf"\btu choi (?:nhan|{_OBJ})\b",                          # từ chối nhận / từ chối QC / từ chối email
    r"^(?:toi |xin |em )?tu choi$",                            # the whole reply is "từ chối"
    r"\bhuy (?:dang ky|nhan|theo doi)\b",                       # hủy đăng ký, hủy nhận
    rf"\b(?:ngung|dung|thoi) (?:gui|nhan|lien he|goi)(?: {_OBJ})?$",  # ngừng gửi / đừng gửi nữa, at the end
    rf"\b(?:ngung|dung|thoi) (?:gui|nhan|lien he|goi) {_OBJ}\b",       # dừng gửi tin cho tôi ...
    r"\b(?:dung|xin dung) lam phien\b",                         # đừng làm phiền
    rf"\bkhong (?:muon |can )?nhan (?!duoc\b){_OBJ}\b",         # không nhận QC (but "không nhận được ...")
    r"\bkhong (?:muon |can )?nhan(?: nua)?$",                    # "không nhận" / "không muốn nhận nữa"
    r"\bkhong muon (?:nhan|duoc lien he|bi lam phien)\b",
    r"^(?:xin |hay |lam on )?(?:dung|ngung) lai(?: di)?$",          # the whole clause is "dừng lại (đi)"
    r"^(?:toi |em )?khong (?:quan tam|co nhu cau)(?: a| nua)?$",    # the whole clause is "không quan tâm"
    r"\b(?:bo|xoa|loai) (?:toi|em|so|email|so dien thoai|dia chi) (?:ra )?khoi danh sach\b",
    # English
    r"\bunsubscribe\b", r"\bopt ?out\b", r"\bremove me\b", r"\btake me off\b",
    r"\b(?:do not|don t|dont) (?:contact|email|e mail|message|text|call|send)\b",
    r"\bstop (?:sending|emailing|messaging|texting|contacting|calling|spamming)\b",
    r"\bno more (?:emails?|e mails?|messages|sms|texts|calls)\b",
)]

# Replies that are nothing but a stop keyword (an SMS "TC" to the short code, "STOP", "Hủy").
_STOP_WORDS = {"tc", "tc qc", "stop", "stop all", "huy", "unsubscribe"}


def is_stop_request(text: str, policy: ContactPolicy | None = None) -> bool:
    """Whether a reply asks us to stop (Vietnamese with or without diacritics, or English).

    Quoted original messages and our own opt-out texts are ignored, so a reply does not count as
    a stop merely because it quotes the footer."""
    own_text = _strip_quoted(text, policy or ContactPolicy())
    reply = fold(own_text)
    if not reply:
        return False
    words = reply.split()
    if reply in _STOP_WORDS or (words[0] in {"tc", "stop"} and len(words) <= 3
                                and all(w.isdigit() or w in {"tc", "stop", "qc", "all", "please"} for w in words)):
        return True  # "TC", "TC 9029", "STOP ALL"
    if "stop" in words and len(words) <= 4:
        return True  # "please stop", "stop it now"
    clauses = (fold(c) for c in re.split(r"[,.;:!?()\n]+", own_text))
    return any(p.search(clause) for clause in clauses if clause for p in _STOP_PATTERNS)


# An SMS reply to the short code is a keyword, maybe followed by the service it is about or the
# short code: "TC", "TC QC", "HUY QC", "HỦY", "STOP ALL", "KHÔNG", "Từ chối 9029".
_SMS_STOP_KEYWORDS = ("tu choi", "tc", "huy", "stop", "khong", "ko", "k", "dung", "ngung", "unsubscribe",
                      "cancel", "quit", "end", "stopall", "optout", "opt out")
_SMS_KEYWORD_TAIL = {"qc", "quang", "cao", "all", "tin", "sms", "nhan", "het", "dv", "nua", "ca", "please", "a"}


def is_sms_stop(text: str, policy: ContactPolicy | None = None) -> bool:
    """Whether a text to the short code withdraws SMS consent: a stop keyword (Vietnamese or
    English, any case, with or without diacritics, with the short-code syntax), or a stop phrase
    as in an e-mail reply ("đừng nhắn tin nữa")."""
    reply = fold(text or "")
    for keyword in _SMS_STOP_KEYWORDS:
        if reply == keyword or reply.startswith(keyword + " "):
            tail = reply[len(keyword):].split()
            if all(word in _SMS_KEYWORD_TAIL or word.isdigit() for word in tail):
                return True
    return is_stop_request(text, policy)
