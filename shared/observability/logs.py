"""Structured JSON logs that never print a phone number or an e-mail address in clear."""

from __future__ import annotations

import logging
import re
import sys

from pythonjsonlogger.json import JsonFormatter

# The local part bounded (64 characters at most, RFC 5321): unbounded, a long run of letters with no
# '@' (a 1 MB field in a dead letter) took time quadratic in its length.
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{0,63}@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
# Runs of 8 or more digits, allowing the separators people write numbers with; not the tax code
# in a lead id (mst:0100233488), which names an enterprise and lets an operator find the lead.
_PHONE = re.compile(r"(?<![\w])(?<!mst:)(\+?\(?\d[\d\s().-]{6,}\d)(\d{0})")


def _mask_phone(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(1))
    if len(digits) < 8:
        return match.group(0)
    return f"{'+' if match.group(1).startswith('+') else ''}{digits[:3]}***{digits[-2:]}"


def redact(text: str) -> str:
    """Masks e-mail addresses (first letter and domain kept) and phone numbers (3 first, 2 last digits)."""
    return _PHONE.sub(_mask_phone, _EMAIL.sub(r"\1***@\2", text))


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRIBUTES and isinstance(value, str):
                setattr(record, key, redact(value))
        return True


_STANDARD_ATTRIBUTES = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def configure_logging(level: str = "INFO", service: str | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter("{asctime}{levelname}{name}{message}", style="{",
                                       rename_fields={"levelname": "level", "asctime": "time"},
                                       static_fields={"service": service} if service else None))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
