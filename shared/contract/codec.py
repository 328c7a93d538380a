"""Avro single-object encoding: C3 01, the 8-byte little-endian CRC-64-AVRO fingerprint of the
writer schema's parsing canonical form, then the Avro binary body.

Any Avro implementation can decode a careflow message with the schema file alone; careflow decodes
messages written with any kept version of a schema and reads them as the current version.
"""

from __future__ import annotations

import io
from typing import Any

from fastavro import schemaless_reader
from pydantic import BaseModel, ValidationError

from shared.contract.registry import Contract, ContractError, contract

MAGIC = b"\xc3\x01"
HEADER_LENGTH = len(MAGIC) + 8


class DecodeError(ContractError):
    """A message that is not a valid careflow event; the reason says why."""


def encode(event_type: str, event: BaseModel) -> bytes:
    spec = contract(event_type)
    out = bytearray(MAGIC)
    out += spec.fingerprint
    spec.write(spec.record(event), out)
    return bytes(out)


def encode_record(spec: Contract, fields: dict[str, Any]) -> tuple[bytes, dict]:
    """An event from its fields (the envelope among them), each checked against its schema's type
    as it is written (`writer`: a wrong one raises FieldTypeError naming it), in one pass instead of
    a pydantic validation and then fastavro's walk. The message, and the record as written
    (defaults filled in, nested records as dicts)."""
    out = bytearray(MAGIC)
    out += spec.fingerprint
    record = spec.write(fields, out)
    return bytes(out), record


def encode_emitted(spec: Contract, fields: dict[str, Any], *envelope: Any) -> tuple[bytes, str]:
    """`encode_record` as an emit needs it: the envelope's values given apart, in `ENVELOPE_FIELDS`'
    order (no dict made for them), and the message's key returned instead of the record (none built)."""
    out = bytearray(MAGIC)
    out += spec.fingerprint
    key = spec.write_emitted(fields, out, *envelope)
    return bytes(out), key


def decode_record(spec: Contract, payload: bytes | None) -> dict:
    if not payload or len(payload) < HEADER_LENGTH:
        raise DecodeError(f"{spec.event_type}: message of {len(payload or b'')} bytes is shorter than the single-object header")
    if payload[:2] != MAGIC:
        raise DecodeError(f"{spec.event_type}: not Avro single-object encoding (header {payload[:2].hex()})")
    fingerprint = payload[2:HEADER_LENGTH]
    writer = spec.writers.get(fingerprint)
    if writer is None:
        raise DecodeError(f"{spec.event_type}: unknown schema fingerprint {fingerprint.hex()}")
    try:
        if fingerprint == spec.fingerprint:
            return spec.read(payload, HEADER_LENGTH)  # the current schema: its generated reader
        # An earlier version: fastavro resolves it to the current schema.
        return schemaless_reader(io.BytesIO(payload[HEADER_LENGTH:]), writer, spec.parsed)
    except Exception as exc:  # CorruptBody, or one of fastavro's many errors on a corrupt body
        raise DecodeError(f"{spec.event_type}: corrupt Avro body: {exc}") from exc


def decode(event_type: str, payload: bytes | None) -> BaseModel:
    spec = contract(event_type)
    record = decode_record(spec, payload)
    if payload[2:HEADER_LENGTH] == spec.fingerprint:
        # Written with the current schema: its reader has read every value as the model's type (a
        # wrong one does not decode), so validating it again would only cost time.
        return spec.construct(record)
    try:
        return spec.model.model_validate(record)
    except ValidationError as exc:
        raise DecodeError(f"{event_type}: {exc.error_count()} invalid field(s): {_summary(exc)}") from exc


def _summary(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
