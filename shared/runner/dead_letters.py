"""Dead letters: an event that cannot be decoded or handled goes to `<topic>.dlq`, unchanged, with
headers naming the error and where it came from; the partition goes on."""

from __future__ import annotations

import logging
from typing import Protocol

from pydantic import ValidationError

from shared.kafka import dlq_topic
from shared.observability.logs import redact
from shared.service import Output

log = logging.getLogger("careflow.runner")


class Record(Protocol):
    """A consumed record: confluent-kafka's Message, or `tests.support`'s in-process record."""

    def topic(self) -> str: ...
    def partition(self) -> int: ...
    def offset(self) -> int: ...
    def key(self) -> bytes | None: ...
    def value(self) -> bytes | None: ...


def safe_reason(error: Exception) -> str:
    """The error as a header or a log may show it: a validation error names the fields and what is
    wrong, never the values (a name, an address); phone numbers and e-mails anywhere are masked."""
    if isinstance(error, ValidationError):
        text = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors(include_input=False))
    else:
        text = str(error)
    return redact(text) or type(error).__name__


class Unproducible(Exception):
    """An output the broker or the producer refused for good (too large, invalid for its topic).
    `drop_value`: the dead letter itself was refused; the next one carries the headers only."""

    def __init__(self, source: tuple[str, int, int], reason: str, drop_value: bool = False):
        super().__init__(reason)
        self.source, self.drop_value = source, drop_value


def dead_letter(service: str, record: Record, error: Exception, tries: int) -> Output:
    reason = safe_reason(error)
    log.error("event dead-lettered", extra={"topic": record.topic(), "partition": record.partition(),
                                            "offset": record.offset(), "error": reason})
    headers = (("error", reason[:2000].encode()), ("error_type", type(error).__name__.encode()),
               ("source_topic", record.topic().encode()), ("source_partition", str(record.partition()).encode()),
               ("source_offset", str(record.offset()).encode()), ("service", service.encode()),
               ("tries", str(tries).encode()))
    if isinstance(error, Unproducible) and error.drop_value:
        headers += (("value_dropped", b"the record itself could not be produced again"),)
        return Output(dlq_topic(record.topic()), record.key() or b"", b"", headers)
    return Output(dlq_topic(record.topic()), record.key() or b"", record.value() or b"", headers)
