"""The contract: every event round-trips through its schema, framing follows the Avro
specification's single-object encoding, and is readable by the official Apache `avro` package."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import typing

import avro.io
import avro.schema
import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from shared.contract import codec
from shared.contract.registry import SCHEMA_DIR, canonical_fingerprint, contract, contracts
from shared.contract import envelope

EVENT_TYPES = sorted(contracts())
SPEC_EVENTS = {
    "lead-imported", "lead-normalized", "lead-escalated", "escalation-returned", "email-requested",
    "sms-requested", "call-requested", "email-replied", "call-ended", "consent-changed",
    "customer-supported", "care-requested", "care-case-updated", "care-case-resolved", "care-case-opened",
    "care-case-escalated", "subscriber-upserted", "subscriber-call-answered", "profile-prompted",
    "profile-skipped", "profile-collected", "subscriber-profile-updated", "sms-replied", "outreach-cancelled",
    "subject-erasure-requested", "subject-erased",
    "lead-worked",  # the owner of an escalation works the lead from the console
}


def sample(event_type: str):
    """An instance of the event's model with every field set to a plausible value."""
    spec = contract(event_type)
    return spec.model(envelope=envelope(event_type, "test"), **{
        name: _value_for(info.annotation) for name, info in spec.model.model_fields.items() if name != "envelope"})


def _value_for(annotation):
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Union:
        return _value_for(next(a for a in args if a is not type(None)))
    if origin is typing.Literal:
        return args[-1]
    if origin is list:
        return [_value_for(args[0]), _value_for(args[0])]
    if hasattr(annotation, "model_fields"):
        return annotation(**{n: _value_for(i.annotation) for n, i in annotation.model_fields.items()})
    return {str: "Công ty TNHH Bưu chính", int: 7, bool: True, float: 1.5,
            dt.datetime: dt.datetime(2026, 7, 1, 3, 4, 5, 678000, tzinfo=dt.timezone.utc),
            dt.date: dt.date(2020, 2, 29)}[annotation]


def test_every_spec_event_has_a_schema():
    assert set(EVENT_TYPES) == SPEC_EVENTS


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_event_carries_the_envelope(event_type):
    fields = contract(event_type).schema["fields"]
    assert fields[0]["name"] == "envelope"
    assert [f["name"] for f in fields[0]["type"]["fields"]] == [
        "event_id", "event_type", "occurred_at", "producer", "correlation_id", "causation_id"]


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_model_round_trips_through_its_schema(event_type):
    event = sample(event_type)
    assert codec.decode(event_type, codec.encode(event_type, event)) == event


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_framing_is_avro_single_object_encoding(event_type):
    payload = codec.encode(event_type, sample(event_type))
    assert payload[:2] == b"\xc3\x01"
    assert payload[2:10] == avro_fingerprint(contract(event_type).schema)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_apache_avro_decodes_careflow_messages(event_type):
    event = sample(event_type)
    payload = codec.encode(event_type, event)
    avro_schema = avro.schema.parse(json.dumps(contract(event_type).schema))
    decoded = avro.io.DatumReader(avro_schema).read(avro.io.BinaryDecoder(io.BytesIO(payload[10:])))
    assert decoded["envelope"]["event_id"] == event.envelope.event_id
    assert contract(event_type).model.model_validate(decoded) == event


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_careflow_decodes_messages_apache_avro_encoded(event_type):
    event = sample(event_type)
    avro_schema = avro.schema.parse(json.dumps(contract(event_type).schema))
    body = io.BytesIO()
    avro.io.DatumWriter(avro_schema).write(event.model_dump(), avro.io.BinaryEncoder(body))
    payload = b"\xc3\x01" + avro_fingerprint(contract(event_type).schema) + body.getvalue()
    assert codec.decode(event_type, payload) == event


def avro_fingerprint(schema: dict) -> bytes:
    """The fingerprint by the Apache avro package, little-endian as the specification frames it.

    avro-python keeps `{"type": "long"}` for a logical type in its canonical form, where the
    specification's [PRIMITIVES] rule (and Java's SchemaNormalization) writes `"long"`: apply
    that rule to its canonical form before its CRC-64-AVRO.
    """
    def primitives(node):
        if isinstance(node, dict):
            if set(node) == {"type"} and isinstance(node["type"], str):
                return node["type"]
            return {k: primitives(v) for k, v in node.items()}
        if isinstance(node, list):
            return [primitives(v) for v in node]
        return node
    canonical = json.dumps(primitives(json.loads(avro.schema.parse(json.dumps(schema)).canonical_form)),
                           separators=(",", ":"), ensure_ascii=False)
    return avro.schema._crc_64_fingerprint(canonical.encode())


def test_fingerprint_matches_apache_avro():
    schema = contract("subscriber-upserted").schema
    assert canonical_fingerprint(schema) == avro_fingerprint(schema)


@pytest.mark.parametrize("payload, reason", [
    (b"", "shorter than the single-object header"),
    (b"\x00\x01" + b"\x00" * 20, "not Avro single-object encoding"),
    (b"\xc3\x01" + b"\x01" * 8 + b"\x00", "unknown schema fingerprint"),
])
def test_undecodable_messages_say_why(payload, reason):
    with pytest.raises(codec.DecodeError, match=reason):
        codec.decode("lead-imported", payload)


def test_a_truncated_body_is_a_decode_error():
    payload = codec.encode("call-requested", sample("call-requested"))
    with pytest.raises(codec.DecodeError, match="corrupt Avro body"):
        codec.decode("call-requested", payload[:30])


# --- FULL_TRANSITIVE compatibility, checked by the Apache avro package ----------------------

def incompatibilities(reader: dict, writer: dict) -> list[str]:
    result = ReaderWriterCompatibilityChecker().get_compatibility(
        avro.schema.parse(json.dumps(reader)), avro.schema.parse(json.dumps(writer)))
    return [] if result.compatibility is SchemaCompatibilityType.compatible else list(result.messages)


def full_transitive_violations(versions: list[dict]) -> list[str]:
    return [f"v{r + 1} cannot read v{w + 1}: {msg}" for r, reader in enumerate(versions)
            for w, writer in enumerate(versions) if r != w for msg in incompatibilities(reader, writer)]


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_current_schema_is_kept_in_history(event_type):
    spec = contract(event_type)
    kept = {canonical_fingerprint(h) for h in spec.history}
    assert spec.fingerprint in kept, f"run `careflow schemas snapshot` to keep the new version of {event_type}"


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_version_is_full_transitive_compatible(event_type):
    spec = contract(event_type)
    assert full_transitive_violations([*spec.history, spec.schema]) == []


def test_a_new_required_field_is_caught_as_incompatible():
    old = contract("lead-imported").schema
    new = copy.deepcopy(old)
    new["fields"].append({"name": "segment", "type": "string"})
    assert full_transitive_violations([old, new])


def test_a_new_optional_field_with_default_is_compatible():
    old = contract("lead-imported").schema
    new = copy.deepcopy(old)
    new["fields"].append({"name": "segment", "type": ["null", "string"], "default": None})
    assert full_transitive_violations([old, new]) == []


def test_an_old_writer_version_is_read_as_the_current_schema(tmp_path, monkeypatch):
    """A message written with a kept earlier version decodes, with the new field defaulted."""
    spec = contract("lead-imported")
    old = copy.deepcopy(spec.schema)
    old["fields"] = [f for f in old["fields"] if f["name"] != "bhxh_unit_code"]
    avro_schema = avro.schema.parse(json.dumps(old))
    event = sample("lead-imported")
    body = io.BytesIO()
    avro.io.DatumWriter(avro_schema).write({k: v for k, v in event.model_dump().items() if k != "bhxh_unit_code"},
                                           avro.io.BinaryEncoder(body))
    monkeypatch.setitem(spec.writers, canonical_fingerprint(old), __import__("fastavro").parse_schema(old))
    payload = b"\xc3\x01" + canonical_fingerprint(old) + body.getvalue()
    assert codec.decode("lead-imported", payload).bhxh_unit_code is None


def test_schema_files_are_valid_json_with_docs():
    for path in SCHEMA_DIR.glob("*.avsc"):
        assert json.loads(path.read_text(encoding="utf-8")).get("doc"), f"{path.name} has no doc"


def _nodes(node):
    """Every JSON object in a schema, nested ones included."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)


SCHEMA_FILES = sorted(p.name for p in SCHEMA_DIR.glob("*.avsc")) + sorted(
    str(p.relative_to(SCHEMA_DIR)) for p in SCHEMA_DIR.glob("history/*/*.avsc"))


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_every_schema_file_parses_alone_in_apache_avro(name):
    """Self-contained: any Avro implementation reads the file with nothing else (no named type from another file)."""
    parsed = avro.schema.parse((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    assert parsed.type == "record"


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_no_schema_names_an_unnamed_type(name):
    """`name` belongs to records, enums and fixed types: on a timestamp it means nothing and misleads."""
    schema = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    assert [node for node in _nodes(schema) if "name" in node and "logicalType" in node
            and node.get("type") not in ("record", "enum", "fixed")] == []


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_event_carries_the_one_envelope_written_in_its_file(event_type):
    envelope_file = json.loads((SCHEMA_DIR / "careflow.events.Envelope.avsc").read_text(encoding="utf-8"))
    assert contract(event_type).schema["fields"][0]["type"] == envelope_file


def _enums(schema):
    return (node for node in _nodes(schema) if node.get("type") == "enum")


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_enum_has_a_default_among_its_symbols(event_type):
    """A newer producer's symbol is read as the default by every reader of this version on, instead of failing."""
    for enum in _enums(contract(event_type).schema):
        assert enum.get("default") in enum["symbols"], f"{event_type}: enum {enum['name']} has no default symbol"


def test_a_symbol_this_version_does_not_know_reads_as_the_enum_default(monkeypatch):
    """A newer producer adds a call reason: careflow decodes its message with the reason read as "other"."""
    spec = contract("subscriber-call-answered")
    newer = copy.deepcopy(spec.schema)
    reason = next(e for e in _enums(newer) if e["name"] == "CallReason")
    reason["symbols"].append("roaming_activation")
    event = sample("subscriber-call-answered").model_dump() | {"call_reason": "roaming_activation"}
    body = io.BytesIO()
    avro.io.DatumWriter(avro.schema.parse(json.dumps(newer))).write(event, avro.io.BinaryEncoder(body))
    monkeypatch.setitem(spec.writers, canonical_fingerprint(newer), __import__("fastavro").parse_schema(newer))
    payload = b"\xc3\x01" + canonical_fingerprint(newer) + body.getvalue()
    assert codec.decode("subscriber-call-answered", payload).call_reason == "other"
    assert incompatibilities(spec.schema, newer) == [] and incompatibilities(newer, spec.schema) == []
