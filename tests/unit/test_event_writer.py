"""An emitted event's fields are checked against its schema's types as they are written
(shared/contract/writer.py), without pydantic in front: every wrong value pydantic refused is
still refused, with an error naming the field; and what is written is what fastavro writes."""

from __future__ import annotations

import datetime as dt
import io
import random
import re

import fastavro
import pytest
from pydantic import ValidationError

from shared.contract import codec, contract, contracts
from shared.contract.registry import ENVELOPE_FIELDS
from shared.contract.writer import FieldTypeError, writer
from tests.unit.test_contracts import sample

# One value of each kind a caller could pass by mistake.
WRONG = [12345, -1, 1.5, True, "x", "", None, b"x", [], ["x"], {}, {"x": 1}, dt.date(2020, 1, 1),
         dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), object()]


def _paths(value, path=()):
    """Every field's path in a record dict, nested records and list items included."""
    for name, inner in value.items():
        yield (*path, name)
        if isinstance(inner, dict):
            yield from _paths(inner, (*path, name))
        elif isinstance(inner, list) and inner and isinstance(inner[0], dict):
            yield from _paths(inner[0], (*path, name, 0))


def _replaced(record, path, value):
    if len(path) == 1:
        return record | {path[0]: value} if isinstance(record, dict) else [value] + record[1:]
    head = path[0]
    if isinstance(record, list):
        return [_replaced(record[head], path[1:], value)] + record[1:]
    return record | {head: _replaced(record[head], path[1:], value)}


def _named(path) -> str:
    return "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in path).lstrip(".")


def _emitted(spec, fields):
    """What an emit writes: the envelope's values given apart (`encode_emitted`), then the message."""
    envelope = fields["envelope"]
    return codec.encode_emitted(spec, {k: v for k, v in fields.items() if k != "envelope"},
                                *(envelope[name] for name in ENVELOPE_FIELDS))


@pytest.mark.parametrize("encode", [codec.encode_record, _emitted], ids=["record", "emitted"])
@pytest.mark.parametrize("event_type", sorted(contracts()))
def test_every_wrong_value_pydantic_refuses_is_refused_naming_its_field(event_type, encode):
    spec = contract(event_type)
    good = sample(event_type).model_dump()
    refused = 0
    # An emit makes the envelope itself, of its six values: only they can be wrong.
    for path in [p for p in _paths(good) if encode is codec.encode_record or p != ("envelope",)]:
        for wrong in WRONG:
            fields = _replaced(good, path, wrong)
            try:
                spec.model.model_validate(fields)
            except ValidationError:
                # The field itself, or the field inside it that is missing or wrong ({} for a record).
                with pytest.raises(FieldTypeError, match=rf"^{re.escape(f'{event_type}.{_named(path)}')}[.\[:]"):
                    encode(spec, fields)
                refused += 1
    assert refused > len(list(_paths(good)))  # each field refuses something
    for missing in [name for name, info in spec.model.model_fields.items()
                    if info.is_required() and (encode is codec.encode_record or name != "envelope")]:
        with pytest.raises(FieldTypeError, match=f"^{event_type}\\.{missing}: expected a value"):
            encode(spec, {k: v for k, v in good.items() if k != missing})
    with pytest.raises(FieldTypeError, match=f"^{event_type}\\.surname: expected no such field"):
        encode(spec, good | {"surname": "Nguyễn"})


@pytest.mark.parametrize("event_type", sorted(contracts()))
def test_fields_are_written_as_fastavro_writes_them_and_read_back_as_the_event(event_type):
    spec = contract(event_type)
    event = sample(event_type)
    fields = {name: value for name, value in event.model_dump().items()}
    for name, info in spec.model.model_fields.items():  # defaults come from the schema
        if not info.is_required():
            del fields[name]
    value, record = codec.encode_record(spec, fields)
    emitted = spec.construct(record)
    body = io.BytesIO()
    fastavro.schemaless_writer(body, spec.parsed, emitted.model_dump())
    assert value == codec.MAGIC + spec.fingerprint + body.getvalue()
    assert codec.decode(event_type, value) == emitted == spec.model.model_validate(fields)
    # What an emit writes: the same message, keyed by the event's key field, with no record built.
    assert _emitted(spec, fields) == (value, record[spec.key_field])


SCALARS = {"type": "record", "name": "Scalars", "fields": [
    {"name": "i", "type": "int"}, {"name": "n", "type": "long"}, {"name": "d", "type": "double"},
    {"name": "f", "type": "float"}, {"name": "b", "type": "bytes"}, {"name": "m", "type": {"type": "map", "values": "long"}},
    {"name": "day", "type": {"type": "int", "logicalType": "date"}},
    {"name": "at", "type": [{"type": "long", "logicalType": "timestamp-millis"}, "null"]}]}


# Each type at its edges: empty, extremes of its range, long, in other zones.
SCALAR_VALUES = [
    {"i": 0, "n": 0, "d": 0.0, "f": 0.0, "b": b"", "m": {}, "day": dt.date(1970, 1, 1), "at": None},
    {"i": -(1 << 31), "n": (1 << 63) - 1, "d": -1.5e300, "f": 3, "b": b"\x00\xff", "m": {"é": -(1 << 63), "k": 64},
     "day": dt.date(1900, 3, 1), "at": dt.datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=dt.timezone.utc)},
    {"i": (1 << 31) - 1, "n": 8191, "d": 2, "f": 0.1, "b": b"x" * 200, "m": {"a": 1 << 40}, "day": dt.date(2038, 1, 20),
     "at": dt.datetime(2026, 7, 1, 3, 4, 5, 678000, tzinfo=dt.timezone(dt.timedelta(hours=7)))},
]


@pytest.mark.parametrize("values", SCALAR_VALUES)
def test_the_types_no_event_uses_yet_are_written_as_fastavro_writes_them(values):
    out, keyed = bytearray(), bytearray()
    assert writer("scalars", SCALARS)(values, out) == values
    assert writer("scalars", SCALARS, key="n")(values, keyed) == values["n"]
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema(SCALARS), values)
    assert bytes(out) == bytes(keyed) == body.getvalue()


@pytest.mark.parametrize("field, wrong", [("i", 1 << 31), ("n", 1 << 63), ("d", "1.5"), ("f", True), ("b", "x"),
                                          ("m", {"k": "1"}), ("day", dt.datetime(2020, 1, 1)), ("at", 1767225600000)])
def test_a_value_out_of_its_types_range_is_refused(field, wrong):
    good = {"i": 0, "n": 0, "d": 0.0, "f": 0.0, "b": b"", "m": {}, "day": dt.date(1970, 1, 1), "at": None}
    with pytest.raises(FieldTypeError, match=f"^scalars\\.{field}"):
        writer("scalars", SCALARS)(good | {field: wrong}, bytearray())


def test_a_time_is_written_as_the_milliseconds_fastavro_writes_whatever_its_zone():
    schema = {"type": "record", "name": "Times", "fields": [
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}}]}
    rng = random.Random(7)
    zones = [dt.timezone.utc, dt.timezone(dt.timedelta(hours=7)), dt.timezone(dt.timedelta(hours=-9, minutes=-30))]
    times = [dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=rng.randrange(-5 * 10**16, 5 * 10**16))
             for _ in range(2000)]
    for at in [*(t.astimezone(rng.choice(zones)) for t in times), dt.datetime(2026, 7, 1, 3, 4, 5, 678999)]:  # naive last
        out = bytearray()
        writer("times", schema)({"at": at}, out)
        body = io.BytesIO()
        fastavro.schemaless_writer(body, fastavro.parse_schema(schema), {"at": at})
        assert bytes(out) == body.getvalue(), at
