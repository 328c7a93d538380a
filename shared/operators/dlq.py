"""Dead letters an operator can handle: `careflow dlq list / show / replay`.

A dead letter is the consumed record, unchanged, in `<topic>.dlq`, with headers naming the error
(`shared.runner.dead_letters`). `replay` sends chosen ones back to their source topic once the cause
is fixed, and records each replay in the `dlq-replays` topic in the same Kafka transaction: a record
is replayed once, whoever asks again and however the command ends.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from rich.console import Console
from rich.table import Table

from shared.clock import utc_now
from shared.contract import DecodeError, decode
from shared.kafka import client_config, ensure_topics, produce
from shared.kafka.ledger import read_committed
from shared.kafka.client import Connection
from shared.observability.logs import redact

LEDGER = "dlq-replays"
# `show` prints this much of each field of an event.
SHOWN_CHARACTERS = 2_000


@dataclass(frozen=True)
class DeadLetter:
    topic: str  # the dead-letter topic
    partition: int
    offset: int
    at: dt.datetime
    key: bytes
    value: bytes
    headers: dict[str, str]

    @property
    def coordinates(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"

    @property
    def source_topic(self) -> str:
        return self.headers.get("source_topic") or self.topic.removesuffix(".dlq")

    @property
    def error_type(self) -> str:
        return self.headers.get("error_type", "")


def dead_letters(bootstrap: Connection, prefix: str = "", topic: str | None = None, error_type: str | None = None,
                 since: dt.datetime | None = None, until: dt.datetime | None = None) -> list[DeadLetter]:
    """The dead letters of the namespace, optionally of one source topic (`lead-imported`), one error
    type (`OutputTooLarge`) and a time range."""
    names = AdminClient(client_config(bootstrap)).list_topics(timeout=30).topics
    wanted = [name for name in sorted(names) if name.startswith(prefix) and name.endswith(".dlq")
              and (topic is None or name == f"{prefix}{topic}.dlq")]
    found = []
    for message in read_committed(bootstrap, wanted):
        letter = DeadLetter(message.topic(), message.partition(), message.offset(),
                            dt.datetime.fromtimestamp(message.timestamp()[1] / 1000, dt.timezone.utc),
                            message.key() or b"", message.value() or b"",
                            {k: (v or b"").decode(errors="replace") for k, v in message.headers() or ()})
        if ((error_type is None or letter.error_type == error_type) and (since is None or letter.at >= since)
                and (until is None or letter.at < until)):
            found.append(letter)
    return found


def replayed(bootstrap: Connection, prefix: str = "") -> dict[str, dict]:
    """The dead letters replayed before, by coordinates: when and by whom."""
    return {message.key().decode(): json.loads(message.value()) for message in read_committed(bootstrap, [prefix + LEDGER])}


def show(letter: DeadLetter, prefix: str = "") -> dict:
    """A dead letter for an operator's eyes: headers and the decoded event, personal data masked."""
    event_type = letter.source_topic[len(prefix):]
    try:
        body = json.dumps(_shortened(decode(event_type, letter.value).model_dump(mode="json")), ensure_ascii=False,
                          indent=2)
    except (DecodeError, LookupError, ValueError) as exc:
        body = f"(cannot be decoded: {exc}) {letter.value[:500]!r}"
    return {"coordinates": letter.coordinates, "at": letter.at.isoformat(), "key": redact(letter.key.decode(errors="replace")),
            "headers": {k: redact(v) for k, v in letter.headers.items()}, "event": redact(body)}


def _shortened(value):
    """Each string field cut to SHOWN_CHARACTERS: a dead letter may hold a field of a megabyte."""
    if isinstance(value, dict):
        return {k: _shortened(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shortened(v) for v in value]
    if isinstance(value, str) and len(value) > SHOWN_CHARACTERS:
        return f"{value[:SHOWN_CHARACTERS]}… ({len(value) - SHOWN_CHARACTERS} more characters)"
    return value


def replay(bootstrap: Connection, letters: list[DeadLetter], operator: str, prefix: str = "") -> tuple[list[str], list[str]]:
    """Sends each dead letter back to its source topic, once: returns (replayed, skipped as replayed before).
    The records and their ledger entries are committed in one transaction."""
    ensure_topics(bootstrap, [prefix + LEDGER], 1, dead_letters=False)
    # One transactional id for every operator: of two replays at once, the older is fenced, and the
    # ledger is read after init_transactions, so whatever an earlier replay committed is seen.
    producer = Producer(client_config(bootstrap, **{
        "transactional.id": f"{prefix}careflow-dlq-replay", "compression.type": "lz4",
        "message.max.bytes": 64 * 1024 * 1024}))  # the broker took these records compressed: it judges again
    producer.init_transactions(30)
    before = replayed(bootstrap, prefix)
    todo = [letter for letter in letters if letter.coordinates not in before]
    skipped = [letter.coordinates for letter in letters if letter.coordinates in before]
    if not todo:
        return [], skipped
    producer.begin_transaction()
    now = utc_now().isoformat()
    for letter in todo:
        headers = [("replayed_from", letter.coordinates.encode()), ("replayed_by", operator.encode())]
        produce(producer, letter.source_topic, letter.value, letter.key or None, headers)
        produce(producer, prefix + LEDGER, json.dumps({"at": now, "by": operator, "to": letter.source_topic,
                                                       "error_type": letter.error_type}).encode(),
                letter.coordinates.encode())
    producer.commit_transaction(60)
    return [letter.coordinates for letter in todo], skipped


def render_list(letters: list[DeadLetter], replays: dict[str, dict], console: Console | None = None) -> None:
    table = Table(title=f"{len(letters)} dead letter(s)")
    for column in ("coordinates", "time (UTC)", "error type", "error", "replayed"):
        table.add_column(column)
    for letter in letters:
        table.add_row(letter.coordinates, letter.at.strftime("%Y-%m-%d %H:%M:%S"), letter.error_type,
                      redact(letter.headers.get("error", ""))[:80], replays.get(letter.coordinates, {}).get("at", ""))
    (console or Console()).print(table)
