"""An event's fields checked against its schema's types and written as Avro binary in one pass.

Compiled once per schema: a function generated per record, calling small writers for the field
types it does not write itself. fastavro's writer accepts wrong types (it writes the string "no"
as true, the string "xy" as the array ["x", "y"]), which is why emitted events were validated by
pydantic first and then walked again by fastavro; here the type test is the write. Stricter than pydantic's lax mode, never looser: a
value of the schema's type is the only thing written (no "1" for an int, no 1 for a boolean).
The bytes are what fastavro writes for the same record (tests compare them for every event).
"""

from __future__ import annotations

import datetime as dt
import struct
from typing import Any, Callable

from fastavro.logical_writers import LOGICAL_WRITERS
from pydantic import BaseModel

# A writer appends the value's Avro encoding to `out` and returns the value as the event holds it
# (a record as a dict, an array as a list); it raises _Misfit when the value is not of its type.
Writer = Callable[[Any, bytearray], Any]


class FieldTypeError(ValueError):
    """A field's value is not of its schema's type (or a field is missing or unknown): the event is
    not written. The message names the field by its path, never its value (it may be personal)."""


_ABSENT = object()


class _Misfit(Exception):
    def __init__(self, expected: str, value: Any = _ABSENT, path: tuple = ()):
        self.expected, self.value, self.path = expected, value, path

    def within(self, step: str | int) -> _Misfit:
        self.path = (step, *self.path)
        return self


def _path(path: tuple) -> str:
    return "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path).lstrip(".")


_LONG = (-(1 << 63), 1 << 63)
_INT = (-(1 << 31), 1 << 31)
_SMALL = [bytes([n]) for n in range(128)]


def _varint(n: int) -> bytes:
    """Avro's zig-zag variable-length encoding of an int or long already checked in range."""
    n = (n << 1) ^ (n >> 63)
    if n < 128:
        return _SMALL[n]
    encoded = bytearray()
    while n > 127:
        encoded.append((n & 127) | 128)
        n >>= 7
    encoded.append(n)
    return bytes(encoded)


def _string(value: Any, out: bytearray) -> Any:
    if not isinstance(value, str):
        raise _Misfit("a string", value)
    try:
        encoded = value.encode()
    except UnicodeEncodeError:
        raise _Misfit("a string encodable as UTF-8", value) from None
    out += _varint(len(encoded))
    out += encoded
    return value


def _bytes(value: Any, out: bytearray) -> Any:
    if not isinstance(value, bytes):
        raise _Misfit("bytes", value)
    out += _varint(len(value))
    out += value
    return value


def _boolean(value: Any, out: bytearray) -> Any:
    if value is True:
        out.append(1)
    elif value is False:
        out.append(0)
    else:
        raise _Misfit("a boolean", value)
    return value


def _integer(low: int, high: int, name: str) -> Writer:
    def write(value: Any, out: bytearray) -> Any:
        if type(value) is not int or not low <= value < high:  # a bool is not an int here
            raise _Misfit(f"an {name} (a whole number from {low} to {high - 1})", value)
        out += _varint(value)
        return value
    return write


def _real(code: str) -> Writer:
    pack = struct.Struct(code).pack

    def write(value: Any, out: bytearray) -> Any:
        if type(value) not in (float, int):
            raise _Misfit("a number", value)
        out += pack(value)
        return value
    return write


def _null(value: Any, out: bytearray) -> Any:
    if value is not None:
        raise _Misfit("null", value)
    return None


def _timestamp(logical: str, kind: type) -> Writer:
    """A datetime (a date) through fastavro's own conversion to the long (int) it writes."""
    prepare = LOGICAL_WRITERS[logical]
    exact = kind is dt.date  # a datetime is a date subclass, and not a date here

    def write(value: Any, out: bytearray) -> Any:
        if (type(value) is not kind) if exact else not isinstance(value, kind):
            raise _Misfit(f"a {kind.__name__}", value)
        out += _varint(prepare(value, None))
        return value
    return write


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)  # fastavro's, for its timestamps' readers and writers
_MILLISECOND = dt.timedelta(milliseconds=1)


def _timestamp_millis(value: Any, out: bytearray) -> Any:
    """Every envelope's time: an aware datetime's milliseconds since the epoch, floored, which is
    what fastavro's conversion computes at a third of its cost; a naive one goes through fastavro's
    (it reads it as local time)."""
    if not isinstance(value, dt.datetime):
        raise _Misfit("a datetime", value)
    if value.tzinfo is None:
        return _LOGICAL_NAIVE(value, out)
    out += _varint((value - _EPOCH) // _MILLISECOND)  # any datetime's milliseconds fit a long
    return value


_PRIMITIVES: dict[str, Writer] = {
    "string": _string, "bytes": _bytes, "boolean": _boolean, "null": _null,
    "int": _integer(*_INT, "int"), "long": _integer(*_LONG, "long"), "double": _real("<d"), "float": _real("<f"),
}
_LOGICAL_NAIVE = _timestamp("long-timestamp-millis", dt.datetime)
_LOGICAL: dict[str, Writer] = {
    "long-timestamp-millis": _timestamp_millis,
    "int-date": _timestamp("int-date", dt.date),
}


def _union(branches: list, named: dict[str, Writer], keep: bool) -> Writer:
    members = [b for b in branches if b != "null"]
    if len(members) != 1 or len(branches) != 2:
        raise ValueError(f"only nullable unions of one type are supported, got {branches}")
    null_index, value_index = _varint(branches.index("null")), _varint(branches.index(members[0]))
    inner = _compile(members[0], named, keep)

    def write(value: Any, out: bytearray) -> Any:
        if value is None:
            out += null_index
            return None
        out += value_index
        try:
            return inner(value, out)
        except _Misfit as misfit:
            if not misfit.path:
                misfit.expected += " or null"
            raise
    return write


def _array(items: Any, named: dict[str, Writer], keep: bool) -> Writer:
    inner = _compile(items, named, keep)

    def write(value: Any, out: bytearray) -> Any:
        if type(value) not in (list, tuple):
            raise _Misfit("a list", value)
        written = [] if keep else None
        if value:
            out += _varint(len(value))  # one block, as fastavro writes it
            for index, item in enumerate(value):
                try:
                    item = inner(item, out)
                except _Misfit as misfit:
                    raise misfit.within(index) from None
                if keep:
                    written.append(item)
        out.append(0)
        return written
    return write


def _map(values: Any, named: dict[str, Writer], keep: bool) -> Writer:
    inner = _compile(values, named, keep)

    def write(value: Any, out: bytearray) -> Any:
        if type(value) is not dict:
            raise _Misfit("a mapping", value)
        written = {} if keep else None
        if value:
            out += _varint(len(value))
            for key, item in value.items():
                _string(key, out)
                try:
                    item = inner(item, out)
                except _Misfit as misfit:
                    raise misfit.within(key) from None
                if keep:
                    written[key] = item
        out.append(0)
        return written
    return write


def _enum(symbols: list[str]) -> Writer:
    indices = {symbol: _varint(i) for i, symbol in enumerate(symbols)}
    expected = "one of " + ", ".join(symbols)

    def write(value: Any, out: bytearray) -> Any:
        index = indices.get(value) if isinstance(value, str) else None
        if index is None:
            raise _Misfit(expected, value)
        out += index
        return str(value)
    return write


# Strings and booleans, alone or nullable, are most fields: a record's function writes them in
# its own body (the same tests and bytes as _string and _boolean), without a call per field.
_INLINE = {
    "string": ["if v.__class__ is not str and not isinstance(v, str):", "    raise _Misfit('a string{or_null}', v)",
               "b = v.encode()", "n = len(b)", "out += _SMALL[n << 1] if n < 64 else _varint(n)", "out += b"],
    "boolean": ["if v is True:", "    out.append(1)", "elif v is False:", "    out.append(0)", "else:",
                "    raise _Misfit('a boolean{or_null}', v)"],
}


def _inlined(avro_type: Any) -> list[str] | None:
    """The lines that write a field of this type from `v` in a record's function, if it is inlined."""
    if isinstance(avro_type, str):
        return [line.format(or_null="") for line in _INLINE.get(avro_type, ())] or None
    if isinstance(avro_type, list) and len(avro_type) == 2 and "null" in avro_type:
        (member,) = [t for t in avro_type if t != "null"]
        if not isinstance(member, str) or member not in _INLINE:
            return None
        null_index, value_index = avro_type.index("null"), avro_type.index(member)
        return ["if v is None:", f"    out.append({null_index << 1})", "else:", f"    out.append({value_index << 1})",  # zig-zag
                *("    " + line.format(or_null=" or null") for line in _INLINE[member])]
    return None


def _record(schema: dict, named: dict[str, Writer], keep: bool, key: str | None = None,
            spread: str | None = None) -> Writer:
    """A function generated for the record: each field's value taken (or its default), checked and
    written in turn; a misfit names the field. It returns the record as written when `keep`, else
    the value of its field `key` (an event's key), else None: an emit needs only the key, and
    building the record it never reads cost a sixth of the write. `spread`: a record field (the
    envelope) whose fields the function takes as its arguments after `out`, in the schema's order,
    written in its own body (no dict and no call for them)."""
    spread_field = next((f for f in schema["fields"] if f["name"] == spread), None) if spread else None
    names = frozenset(f["name"] for f in schema["fields"] if f is not spread_field)
    scope: dict[str, Any] = {"_Misfit": _Misfit, "_ABSENT": _ABSENT, "_SMALL": _SMALL, "_varint": _varint,
                             "BaseModel": BaseModel, "names": names}
    arguments = [f"s{j}" for j in range(len(spread_field["type"]["fields"]))] if spread_field else []
    lines = [f"def write({', '.join(['value', 'out', *arguments])}):",
             "    if value.__class__ is not dict:",
             "        if not isinstance(value, BaseModel):",
             "            raise _Misfit('a record', value)",
             "        value = value.__dict__  # a nested model the caller built: its fields are written (and checked)",
             "    if not names.issuperset(value):",
             "        raise _Misfit('no such field', path=(min(set(value) - names),))",
             "    record = {}" if keep else "    record = None"]
    for i, field in enumerate(schema["fields"]):
        name = field["name"]
        if field is spread_field:
            lines += _spread_lines(field, named, scope, i)
            continue
        lines += [f"    v = value.get({name!r}, _ABSENT)", "    if v is _ABSENT:"]
        if "default" not in field:
            lines.append(f"        raise _Misfit('a value (the field is required)', path=({name!r},))")
        else:
            scope[f"default_{i}"] = field["default"]
            copied = ".copy()" if isinstance(field["default"], (list, dict)) else ""
            lines.append(f"        v = default_{i}{copied}")
        inline = _inlined(field["type"])
        if inline is None:
            scope[f"write_{i}"] = _compile(field["type"], named, keep)
            inline = [f"v = write_{i}(v, out)" if keep else f"write_{i}(v, out)"]
        kept = [f"record[{name!r}] = v"] if keep else ["record = v"] if name == key else []
        lines += _checked(inline + kept, (name,))
    lines.append("    return record")
    exec(compile("\n".join(lines), f"<writer of {schema['name']}>", "exec"), scope)
    return scope["write"]


def _spread_lines(field: dict, named: dict[str, Writer], scope: dict[str, Any], i: int) -> list[str]:
    """The lines that write a spread record field's fields from the arguments s0, s1, …"""
    record = field["type"]
    _compile(record, named, keep=False)  # its type kept by name, for later fields naming it
    lines = []
    for j, inner in enumerate(record["fields"]):
        inline = _inlined(inner["type"])
        if inline is None:
            scope[f"write_{i}_{j}"] = _compile(inner["type"], named, keep=False)
            inline = [f"write_{i}_{j}(v, out)"]
        lines += [f"    v = s{j}", *_checked(inline, (field["name"], inner["name"]))]
    return lines


def _checked(lines: list[str], path: tuple[str, ...]) -> list[str]:
    """A record function's `lines` that write the value `v`, in a try that names the field at `path`
    when the value is not of its type."""
    within = "".join(f".within({step!r})" for step in reversed(path))
    return ["    try:", *("        " + line for line in lines),
            "    except _Misfit as misfit:", f"        raise misfit{within} from None",
            "    except UnicodeEncodeError:", f"        raise _Misfit('a string encodable as UTF-8', v, {path!r}) from None"]


def _compile(avro_type: Any, named: dict[str, Writer], keep: bool) -> Writer:
    if isinstance(avro_type, str):
        return _PRIMITIVES.get(avro_type) or named[avro_type]
    if isinstance(avro_type, list):
        return _union(avro_type, named, keep)
    kind = avro_type["type"]
    logical = f"{kind}-{avro_type['logicalType']}" if "logicalType" in avro_type else None
    if logical in _LOGICAL:
        return _LOGICAL[logical]
    if kind == "array":
        return _array(avro_type["items"], named, keep)
    if kind == "map":
        return _map(avro_type["values"], named, keep)
    if kind == "enum":
        return named_type(named, avro_type, _enum(avro_type["symbols"]))
    if kind == "record":
        return named_type(named, avro_type, _record(avro_type, named, keep))
    return _compile(kind, named, keep)


def named_type(named: dict[str, Any], avro_type: dict, compiled: Any) -> Any:
    """Keeps an enum's or a record's function under its name and its full name, for the fields that
    refer to the type by name (a writer's here, a reader's in `reader`)."""
    named[avro_type["name"]] = compiled
    if "namespace" in avro_type:
        named[f"{avro_type['namespace']}.{avro_type['name']}"] = compiled
    return compiled


def writer(event_type: str, schema: dict, key: str | None = None, spread: str | None = None
           ) -> Callable[..., Any]:
    """`write(fields, out)`: appends the record's Avro body to `out` and returns the record as
    written (defaults filled in, nested records as dicts), or raises FieldTypeError naming the field.
    With `key`, it builds no record and returns that field's value (what an emit keys its message by);
    with `spread` too, `write(fields, out, *values)` takes that record field's values as arguments."""
    record = _record(schema, {}, keep=key is None, key=key, spread=spread)

    def write(fields: Any, out: bytearray, *spread_values: Any) -> Any:
        try:
            return record(fields, out, *spread_values)
        except _Misfit as misfit:
            got = "" if misfit.value is _ABSENT else f", got {type(misfit.value).__name__}"
            raise FieldTypeError(f"{event_type}.{_path(misfit.path)}: expected {misfit.expected}{got}") from None
    return write
