"""A message of the current schema is read by the function generated for it (shared/contract/reader.py):
what it reads is what fastavro reads, for every event and every type, and it is never looser: a body
fastavro would misread or that does not fill the message is refused."""

from __future__ import annotations

import io
import random

import fastavro
import pytest

from shared.contract import codec, contract, contracts
from shared.contract.reader import CorruptBody, reader
from shared.contract.writer import writer
from tests.unit.test_contracts import sample
from tests.unit.test_event_writer import SCALAR_VALUES, SCALARS


def _fastavro(schema: dict, body: bytes):
    return fastavro.schemaless_reader(io.BytesIO(body), fastavro.parse_schema(schema), None)


def _emptied(record: dict, schema: dict) -> dict:
    """The record with every nullable field null and every list empty, the other way a field is written."""
    emptied = dict(record)
    for field in schema["fields"]:
        kind, name = field["type"], field["name"]
        if isinstance(kind, list) and "null" in kind:
            emptied[name] = None
        elif isinstance(kind, dict) and kind.get("type") == "array":
            emptied[name] = []
    return emptied


def _bodies(event_type: str) -> list[bytes]:
    spec = contract(event_type)
    record = sample(event_type).model_dump()
    bodies = []
    for fields in (record, _emptied(record, spec.schema)):
        out = bytearray()
        spec.write(fields, out)
        bodies.append(bytes(out))
    return bodies


@pytest.mark.parametrize("event_type", sorted(contracts()))
def test_every_event_is_read_as_fastavro_reads_it(event_type):
    spec = contract(event_type)
    for body in _bodies(event_type):
        read = spec.read(b"\x00" * 3 + body, 3)  # from where the body starts in the message
        expected = _fastavro(spec.schema, body)
        assert read == expected
        assert [type(v) for v in read.values()] == [type(v) for v in expected.values()]
        assert codec.decode(event_type, codec.MAGIC + spec.fingerprint + body) == spec.model.model_validate(read)


def test_decoded_events_are_frozen_and_a_copy_with_changes_leaves_the_others_as_decoded():
    spec = contract("lead-normalized")
    first, second = (codec.decode("lead-normalized", codec.MAGIC + spec.fingerprint + body)
                     for body in _bodies("lead-normalized"))
    assert first.model_fields_set == second.model_fields_set == set(spec.model.model_fields)
    with pytest.raises(ValueError, match="frozen"):
        first.lead_id = "changed"
    changed = first.model_copy(update={"lead_id": "changed"})
    assert changed.lead_id == "changed" and first.lead_id != "changed"
    assert first.model_fields_set == second.model_fields_set == set(spec.model.model_fields)
    assert first.phones[0].model_fields_set == {"e164", "type"}


@pytest.mark.parametrize("values", SCALAR_VALUES)
def test_the_types_no_event_uses_yet_are_read_as_fastavro_reads_them(values):
    out = bytearray()
    writer("scalars", SCALARS)(values, out)
    assert reader(SCALARS)(bytes(out), 0) == _fastavro(SCALARS, bytes(out))


def test_an_array_in_blocks_with_their_sizes_is_read_as_other_writers_write_it():
    # fastavro writes one block; Java's block encoder writes negative counts followed by the block's size.
    schema = {"type": "record", "name": "Lists", "fields": [{"name": "xs", "type": {"type": "array", "items": "long"}}]}
    body = bytes([3, 2, 2, 4, 1, 2, 6, 0])  # count -2 (zig-zag 3), 2 bytes: 1, 2; count 1: 3; end
    assert reader(schema)(body, 0) == _fastavro(schema, body) == {"xs": [1, 2, 3]}


@pytest.mark.parametrize("event_type", sorted(contracts()))
def test_a_body_cut_short_or_followed_by_more_bytes_is_refused(event_type):
    read = contract(event_type).read
    for body in _bodies(event_type):
        for cut in range(len(body)):
            with pytest.raises(CorruptBody):
                read(body[:cut], 0)
        with pytest.raises(CorruptBody, match="1 bytes after the last field"):
            read(body + b"\x00", 0)


@pytest.mark.parametrize("event_type", sorted(contracts()))
def test_a_changed_byte_is_refused_or_read_as_fastavro_reads_it(event_type):
    spec = contract(event_type)
    rng = random.Random(event_type)
    compared = 0
    for body in _bodies(event_type):
        for _ in range(200):
            changed = bytearray(body)
            changed[rng.randrange(len(body))] = rng.randrange(256)
            try:
                read = spec.read(bytes(changed), 0)
            except CorruptBody:
                continue
            assert read == _fastavro(spec.schema, bytes(changed))
            compared += 1
    assert compared > 50  # most changes fall inside a string: still a body, read alike


@pytest.mark.parametrize("body, reason", [
    (b"\x80", "the body ends before its last field"),  # a length whose varint goes on past the end
    (b"\x01", "a length longer than the rest of the body"),  # a negative length
    (b"\x04\xff\xfe", "a string that is not UTF-8"),
])
def test_a_corrupt_string_says_what_is_wrong_without_its_bytes(body, reason):
    schema = {"type": "record", "name": "Named", "fields": [{"name": "s", "type": "string"}]}
    with pytest.raises(CorruptBody, match=reason):
        reader(schema)(body, 0)


def test_a_union_branch_a_boolean_and_an_enum_index_beyond_the_schema_are_refused():
    schema = {"type": "record", "name": "Odd", "fields": [
        {"name": "u", "type": ["null", "string"]}, {"name": "flag", "type": "boolean"},
        {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["a", "b"]}}]}
    read = reader(schema)
    assert read(bytes([0, 1, 2]), 0) == {"u": None, "flag": True, "kind": "b"}
    for body, reason in [(bytes([4, 1, 2]), "union branch"), (bytes([0, 2, 2]), "boolean"),
                         (bytes([0, 1, 4]), "enum symbol"), (bytes([0, 1, 1]), "enum symbol")]:
        with pytest.raises(CorruptBody, match=reason):
            read(body, 0)


def test_an_int_beyond_32_bits_and_a_count_no_body_could_hold_are_refused():
    ints = {"type": "record", "name": "Ints", "fields": [{"name": "i", "type": "int"}]}
    with pytest.raises(CorruptBody, match="32 bits"):
        reader(ints)(bytes([0x80, 0x80, 0x80, 0x80, 0x10]), 0)  # 2^31 zig-zagged
    lists = {"type": "record", "name": "Lists", "fields": [{"name": "xs", "type": {"type": "array", "items": "long"}}]}
    with pytest.raises(CorruptBody, match="more items"):
        reader(lists)(bytes([0xfe, 0xff, 0xff, 0xff, 0x0f, 2]), 0)  # a count of 2^31 - 1 before 1 byte
