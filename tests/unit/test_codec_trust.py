"""What the codec no longer validates twice: a record fastavro decoded with the current schema is
built into its model as it is, and an envelope is built unvalidated. Neither lets a wrong value through."""

from __future__ import annotations

import copy
import io
import typing

import fastavro
import pytest
from pydantic import BaseModel

from shared.contract import codec
from shared.contract.registry import Envelope, contract, contracts
from shared.contract import build_event, envelope
from tests.unit.test_contracts import sample


def _models(model: BaseModel):
    """Every model inside `model`, itself included."""
    yield model
    for value in model.__dict__.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, BaseModel):
                yield from _models(item)


@pytest.mark.parametrize("event_type", sorted(contracts()))
def test_a_current_schema_message_decodes_to_what_validation_would_have_built(event_type):
    event = sample(event_type)
    payload = codec.encode(event_type, event)
    decoded = codec.decode(event_type, payload)
    validated = contract(event_type).model.model_validate(codec.decode_record(contract(event_type), payload))
    assert decoded == validated == event
    assert decoded.model_dump() == validated.model_dump()
    assert [type(m) for m in _models(decoded)] == [type(m) for m in _models(validated)]
    assert isinstance(decoded.envelope, Envelope)


def _framed(event_type: str, body: bytes) -> bytes:
    return codec.MAGIC + contract(event_type).fingerprint + body


def test_a_string_that_is_not_utf8_in_a_current_schema_message_is_a_decode_error():
    payload = codec.encode("lead-imported", build_event("lead-imported", envelope("lead-imported", "test"),
                                                        lead_id="mst:1", source="x.csv", row_number=1,
                                                        company_name="é"))
    corrupt = payload.replace("é".encode(), b"\xff\xfe")
    with pytest.raises(codec.DecodeError, match="corrupt Avro body"):
        codec.decode("lead-imported", corrupt)


def test_an_enum_symbol_beyond_the_schema_in_a_current_schema_message_is_a_decode_error():
    schema = copy.deepcopy(contract("lead-normalized").schema)
    enum = next(f["type"] for f in schema["fields"] if f["name"] == "outreach_list")
    enum["symbols"].append("unheard_of")
    record = sample("lead-normalized").model_dump() | {"outreach_list": "unheard_of"}
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema(schema), record)
    with pytest.raises(codec.DecodeError, match="corrupt Avro body"):
        codec.decode("lead-normalized", _framed("lead-normalized", body.getvalue()))


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydantic notes the int while dumping
@pytest.mark.parametrize("field", ["event_id", "correlation_id", "causation_id", "producer"])
def test_an_envelope_with_a_value_of_the_wrong_type_is_refused_when_encoded(field):
    arguments = {"event_id": "e-1", "correlation_id": "c-1", "causation_id": "k-1", "producer": "test"}
    arguments[field] = 12345
    event = build_event("lead-escalated", envelope("lead-escalated", **arguments), lead_id="mst:1",
                        owner="BD-HN", province_code="01", reason="not_found", detail=None)
    with pytest.raises((TypeError, ValueError)):
        codec.encode("lead-escalated", event)


def _with_nones(event: BaseModel) -> BaseModel:
    """`event` with every optional field None."""
    fields = type(event).model_fields
    return type(event)(**{name: None if type(None) in typing.get_args(info.annotation) else getattr(event, name)
                          for name, info in fields.items()})


@pytest.mark.parametrize("event_type", sorted(contracts()))
def test_an_event_is_written_byte_for_byte_as_its_model_dump_would_be(event_type):
    spec = contract(event_type)
    for event in (sample(event_type), _with_nones(sample(event_type))):
        assert spec.record(event) == event.model_dump()
        body = io.BytesIO()
        fastavro.schemaless_writer(body, spec.parsed, event.model_dump())
        assert codec.encode(event_type, event) == codec.MAGIC + spec.fingerprint + body.getvalue()
        # A decoded event (built without validation) is written the same way again.
        assert codec.encode(event_type, codec.decode(event_type, codec.encode(event_type, event))) == \
            codec.encode(event_type, event)
