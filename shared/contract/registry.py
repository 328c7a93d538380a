"""The schema registry: Avro schemas in `schemas/` (a package, shipped with careflow) are the source of truth.

Everything here is derived from the `.avsc` files: the parsed schemas, their fingerprints, every
earlier version kept in `schemas/history/`, and one pydantic model per event, so that a model
cannot drift from its schema. Each file is self-contained: it parses alone in any Avro implementation.
"""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from functools import cache
from pathlib import Path
import typing
from typing import Any, Callable, Literal, Optional, Union

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form
from pydantic import BaseModel, ConfigDict, create_model

from schemas import SCHEMA_DIR
from shared.contract.reader import reader
from shared.contract.writer import writer

ENVELOPE_NAME = "careflow.events.Envelope"
# The field that keys an event, so that everything about one lead, case, subscriber or contact
# lands in one partition and stays in order; the first one an event has wins.
KEY_FIELDS = ("lead_id", "subject_id", "customer_id", "msisdn", "contact")
# The envelope's fields in its schema's order, as an emit passes them (`codec.encode_emitted`).
ENVELOPE_FIELDS = ("event_id", "event_type", "occurred_at", "producer", "correlation_id", "causation_id")


class ContractError(ValueError):
    """A schema in `schemas/` is malformed or a message does not match the contract."""


def load_schema_file(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def canonical_fingerprint(schema: dict) -> bytes:
    """CRC-64-AVRO of the parsing canonical form, little-endian, as single-object encoding frames it."""
    canonical = to_parsing_canonical_form(fastavro.parse_schema(schema, _write_hint=False))
    return bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))  # fastavro gives the little-endian bytes


class Contract:
    """One event type: its topic, current schema, every earlier version and its pydantic model."""

    def __init__(self, event_type: str, schema: dict, history: list[dict]):
        self.event_type = event_type
        self.topic = event_type
        self.schema = schema
        self.parsed = fastavro.parse_schema(schema)
        self.fingerprint = canonical_fingerprint(schema)
        self.history = history
        self.writers = {canonical_fingerprint(h): fastavro.parse_schema(h) for h in history}
        self.writers[self.fingerprint] = self.parsed
        field_names = [f["name"] for f in schema["fields"]]
        key_field = next((k for k in KEY_FIELDS if k in field_names), None)
        if key_field is None:
            raise ContractError(f"{event_type}: no key field (one of {', '.join(KEY_FIELDS)})")
        self.key_field = key_field
        self.model = _model_for_record(schema)
        self.construct = constructor(self.model)
        self.record = recorder(self.model)
        self.write = writer(event_type, schema)
        first = schema["fields"][0]
        if first["name"] != "envelope" or [f["name"] for f in first["type"]["fields"]] != list(ENVELOPE_FIELDS):
            raise ContractError(f"{event_type}: the first field is not the envelope of {', '.join(ENVELOPE_FIELDS)}")
        # An emit's: no record built (it returns the key), the envelope's values as arguments.
        self.write_emitted = writer(event_type, schema, key=key_field, spread="envelope")
        self.read = reader(schema)

    def key_of(self, event: BaseModel) -> str:
        return getattr(event, self.key_field)


def _history_of(event_type: str) -> list[dict]:
    folder = SCHEMA_DIR / "history" / event_type
    versions = sorted(folder.glob("v*.avsc"), key=lambda p: int(p.stem[1:])) if folder.exists() else []
    return [load_schema_file(p) for p in versions]


@cache
def contracts() -> dict[str, Contract]:
    found = {}
    for path in sorted(SCHEMA_DIR.glob("*.avsc")):
        if path.name == f"{ENVELOPE_NAME}.avsc":
            continue
        event_type = path.stem
        found[event_type] = Contract(event_type, load_schema_file(path), _history_of(event_type))
    if not found:
        raise ContractError(f"no schemas found in {SCHEMA_DIR}")
    return found


def contract(event_type: str) -> Contract:
    try:
        return contracts()[event_type]
    except KeyError:
        raise ContractError(f"unknown event type {event_type!r}") from None


# --- pydantic models derived from the schemas -------------------------------------------------

_PRIMITIVES: dict[str, Any] = {"string": str, "int": int, "long": int, "boolean": bool,
                               "double": float, "float": float, "bytes": bytes, "null": type(None)}
_LOGICAL: dict[str, Any] = {"timestamp-millis": dt.datetime, "timestamp-micros": dt.datetime, "date": dt.date}
_named_enums: dict[str, type[StrEnum]] = {}


class EventModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _python_type(avro_type: Any, named: dict[str, Any]) -> Any:
    if isinstance(avro_type, str):
        if avro_type in _PRIMITIVES:
            return _PRIMITIVES[avro_type]
        return named[avro_type]
    if isinstance(avro_type, list):
        members = [t for t in avro_type if t != "null"]
        if len(members) != 1:
            raise ContractError(f"only nullable unions of one type are supported, got {avro_type}")
        inner = _python_type(members[0], named)
        return Optional[inner] if "null" in avro_type else inner
    kind = avro_type["type"]
    if "logicalType" in avro_type and avro_type["logicalType"] in _LOGICAL:
        return _LOGICAL[avro_type["logicalType"]]
    if kind == "array":
        return list[_python_type(avro_type["items"], named)]
    if kind == "map":
        return dict[str, _python_type(avro_type["values"], named)]
    if kind == "enum":
        enum_type = Literal[tuple(avro_type["symbols"])]
        named[avro_type["name"]] = enum_type
        return enum_type
    if kind == "record":
        full_name = f"{avro_type.get('namespace', '')}.{avro_type['name']}"
        if full_name == ENVELOPE_NAME:
            return Envelope
        record = _model_for_record(avro_type, named)
        named[avro_type["name"]] = record
        if "namespace" in avro_type:
            named[f"{avro_type['namespace']}.{avro_type['name']}"] = record
        return record
    return _python_type(kind, named)


def _model_for_record(schema: dict, named: dict[str, Any] | None = None) -> type[BaseModel]:
    named = {} if named is None else named
    fields = {}
    for field in schema["fields"]:
        python_type = _python_type(field["type"], named)
        default = field.get("default", ...)
        fields[field["name"]] = (python_type, default if not isinstance(default, (list, dict)) else default.copy())
    return create_model(schema["name"], __base__=EventModel, __doc__=schema.get("doc"), **fields)


Envelope = _model_for_record(load_schema_file(SCHEMA_DIR / f"{ENVELOPE_NAME}.avsc"))


def constructor(model: type[BaseModel]) -> Callable[[dict], BaseModel]:
    """Builds `model` from a record fastavro decoded with the model's own schema, without
    validating it again (nested records as their models): fastavro has read each value as its
    schema's type. The record is used in place. Not model_construct: its per-field loop in Python
    costs twice what pydantic-core's validation does (15 vs 7 µs for lead-normalized)."""
    nested = [(name, build) for name, info in model.model_fields.items() if (build := _per_value(info.annotation, constructor))]
    # Every field is set, in every instance: one set shared by them all. The models are frozen, and
    # pydantic changes a model's set only in __setattr__ (refused) and in a copy's own copy of it.
    fields_set = set(model.model_fields)
    new, set_ = object.__new__, object.__setattr__

    def construct(record: dict) -> BaseModel:
        for name, build in nested:
            record[name] = build(record[name])
        # What model_construct does for a record holding every field, without its per-field loop.
        event = new(model)
        set_(event, "__dict__", record)
        set_(event, "__pydantic_fields_set__", fields_set)
        set_(event, "__pydantic_extra__", None)
        set_(event, "__pydantic_private__", None)
        return event

    return construct


def recorder(model: type[BaseModel]) -> Callable[[BaseModel], dict]:
    """The inverse of `constructor`: the record fastavro writes for a `model` instance, what
    `model_dump()` returns (nested models as dicts, every other value as it is held), without the
    serializer's walk. The record shares the instance's values: it is written, not kept."""
    nested = [(name, dump) for name, info in model.model_fields.items() if (dump := _per_value(info.annotation, recorder))]

    def record(event: BaseModel) -> dict:
        if not nested:
            return event.__dict__
        values = dict(event.__dict__)
        for name, dump in nested:
            values[name] = dump(values[name])
        return values

    return record


def _per_value(annotation: Any, for_model: Callable[[type[BaseModel]], Callable]) -> Callable[[Any], Any] | None:
    """`for_model`'s function applied to the models inside a value of this type (optional, list or
    map of them); None when the type holds no model."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Union:
        (inner,) = [a for a in args if a is not type(None)]
        convert = _per_value(inner, for_model)
        return convert and (lambda value: None if value is None else convert(value))
    if origin is list:
        convert = _per_value(args[0], for_model)
        return convert and (lambda values: [convert(v) for v in values])
    if origin is dict:
        convert = _per_value(args[1], for_model)
        return convert and (lambda values: {k: convert(v) for k, v in values.items()})
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return for_model(annotation)
    return None


def snapshot_history() -> list[Path]:
    """Keeps the current version of every schema in `schemas/history/<event>/vN.avsc` when it is
    not kept yet: decoders find old writers there, and CI checks compatibility against them all."""
    written = []
    for event_type, spec in contracts().items():
        if spec.fingerprint in {canonical_fingerprint(h) for h in spec.history}:
            continue
        folder = SCHEMA_DIR / "history" / event_type
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"v{len(spec.history) + 1}.avsc"
        path.write_text(json.dumps(spec.schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    contracts.cache_clear()
    return written
