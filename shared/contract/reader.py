"""A message written with the current schema read from Avro binary by a function generated for
that schema, the inverse of `writer`: no schema walk per message, no stream object around the bytes.

fastavro's reader interprets the parsed schema for every message (a dict lookup and a call per
field); for an event of a dozen fields that was two thirds of the runtime's decoding. Messages
written with an earlier version of a schema still go through fastavro, which resolves the two
schemas. The values are what fastavro reads (tests compare them for every event and type), and it
is never looser: a body that is cut short, too long, or holds a length, index, byte or string that
its type cannot have is refused (CorruptBody), never read as something else.
"""

from __future__ import annotations

import datetime as dt
import struct
from typing import Any, Callable

from shared.contract.writer import _EPOCH, _INT, _LONG, named_type

# A reader takes the bytes and a position, and returns the value there and the position after it.
Reader = Callable[[bytes, int], tuple[Any, int]]


class CorruptBody(ValueError):
    """Bytes that are not a body of the schema; the message says where, never a value (it may be personal)."""


_DAYS_SHIFT = dt.date(1970, 1, 1).toordinal()


def _long(b: bytes, p: int) -> tuple[int, int]:
    """Avro's zig-zag variable-length long at `p`."""
    n = shift = 0
    while True:
        x = b[p]
        p += 1
        n |= (x & 127) << shift
        if x < 128:
            break
        shift += 7
        if shift > 63:
            raise CorruptBody("a variable-length number longer than a long")
    n = (n >> 1) ^ -(n & 1)
    if not _LONG[0] <= n < _LONG[1]:
        raise CorruptBody("a variable-length number beyond a long's range")
    return n, p


def _int(b: bytes, p: int) -> tuple[int, int]:
    n, p = _long(b, p)
    if not _INT[0] <= n < _INT[1]:
        raise CorruptBody("an int beyond its 32 bits")
    return n, p


# The lines that read a value of these types into `v` in a record's function, from `b` at `p`, and
# move `p` past it: most fields are strings and numbers, and a call per field cost more than its read.
_VARINT = ["v = b[p]", "p += 1", "if v > 127:", "    v, p = {slow}(b, p - 1)", "else:", "    v = (v >> 1) ^ -(v & 1)"]


def _sized(convert: str) -> list[str]:
    """A length, then that many bytes: a string's (`.decode()`) or bytes' ('')."""
    return [*(line.format(slow="_long") for line in _VARINT),
            "e = p + v",
            "if v < 0 or e > end:",
            "    raise CorruptBody('a length longer than the rest of the body')",
            f"v = b[p:e]{convert}",
            "p = e"]


_INLINE: dict[str, list[str]] = {
    "long": [line.format(slow="_long") for line in _VARINT],
    "int": [line.format(slow="_int") for line in _VARINT],
    "string": _sized(".decode()"),
    "bytes": _sized(""),
    "boolean": ["v = b[p]", "p += 1", "if v > 1:", "    raise CorruptBody('a boolean that is neither 0 nor 1')",
                "v = v == 1"],
    "long-timestamp-millis": [*(line.format(slow="_long") for line in _VARINT),
                              "v = _EPOCH + _timedelta(0, 0, 0, v)"]  # (days, seconds, µs, ms), as fastavro adds it
}


def _type_key(avro_type: Any) -> str | None:
    """The `_INLINE` key of a type, if it has one."""
    if isinstance(avro_type, str):
        return avro_type if avro_type in _INLINE else None
    if isinstance(avro_type, dict) and "logicalType" in avro_type:
        key = f"{avro_type['type']}-{avro_type['logicalType']}"
        return key if key in _INLINE else None
    if isinstance(avro_type, dict) and avro_type.get("type") in _INLINE and len(avro_type) == 1:
        return avro_type["type"]
    return None


def _scope() -> dict[str, Any]:
    """What a generated function's lines call."""
    return {"CorruptBody": CorruptBody, "_long": _long, "_int": _int, "_EPOCH": _EPOCH, "_timedelta": dt.timedelta}


def _generated(name: str, lines: list[str], scope: dict[str, Any]) -> Reader:
    source = "\n".join(["def read(b, p):", "    end = len(b)", *("    " + line for line in lines)])
    exec(compile(source, f"<reader of {name}>", "exec"), scope)
    return scope["read"]


def _value_lines(avro_type: Any, named: dict[str, Reader], scope: dict[str, Any]) -> list[str]:
    """The lines that read a value of `avro_type` into `v`: inlined, or a call to its reader."""
    key = _type_key(avro_type)
    if key is not None:
        return list(_INLINE[key])
    if isinstance(avro_type, list):
        members = [t for t in avro_type if t != "null"]
        if len(members) != 1 or len(avro_type) != 2:
            raise ValueError(f"only nullable unions of one type are supported, got {avro_type}")
        null_index, value_index = avro_type.index("null"), avro_type.index(members[0])
        return ["v = b[p]", "p += 1",
                f"if v == {null_index << 1}:",  # the branch index, zig-zag: one byte for 0 and 1
                "    v = None",
                f"elif v == {value_index << 1}:",
                *("    " + line for line in _value_lines(members[0], named, scope)),
                "else:",
                "    raise CorruptBody('a union branch the schema does not have')"]
    reader = f"read_{len(scope)}"
    scope[reader] = _compile(avro_type, named)
    return [f"v, p = {reader}(b, p)"]


def _record(schema: dict, named: dict[str, Reader]) -> Reader:
    scope = _scope()
    lines = []
    for i, field in enumerate(schema["fields"]):
        lines += [*_value_lines(field["type"], named, scope), f"f{i} = v"]
    lines.append("return {%s}, p" % ", ".join(f"{f['name']!r}: f{i}" for i, f in enumerate(schema["fields"])))
    return _generated(schema["name"], lines, scope)


def _blocks(name: str, items: Any, named: dict[str, Reader], scope: dict[str, Any], keyed: bool) -> Reader:
    """An array's or a map's blocks: a count (negative: followed by the block's size in bytes), then
    that many items (a map's each after its string key), until a count of 0."""
    item_lines = _value_lines(items, named, scope)
    key_lines = [*_INLINE["string"], "k = v"] if keyed else []
    lines = ["values = {}" if keyed else "values = []",
             "while True:",
             *("    " + line for line in _INLINE["long"]),
             "    if v == 0:",
             "        return values, p",
             "    if v < 0:",
             "        v = -v",
             "        _, p = _long(b, p)",
             # An item takes a byte at least (a null none): a count that no body could hold is refused
             # before the loop would run that long.
             *(["    if v > end - p:", "        raise CorruptBody('more items than the rest of the body can hold')"]
               if items != "null" or keyed else []),
             "    for _ in range(v):",
             *("        " + line for line in key_lines + item_lines),
             f"        {'values[k] = v' if keyed else 'values.append(v)'}"]
    return _generated(name, lines, scope)


def _fixed_size(fmt: str) -> Reader:
    unpack, size = struct.Struct(fmt).unpack_from, struct.calcsize(fmt)

    def read(b: bytes, p: int) -> tuple[float, int]:
        return unpack(b, p)[0], p + size
    return read


def _date(b: bytes, p: int) -> tuple[dt.date, int]:
    days, p = _int(b, p)
    return dt.date.fromordinal(days + _DAYS_SHIFT), p


def _enum(symbols: list[str]) -> Reader:
    def read(b: bytes, p: int) -> tuple[str, int]:
        index, p = _long(b, p)
        if not 0 <= index < len(symbols):
            raise CorruptBody("an enum symbol the schema does not have")
        return symbols[index], p
    return read


def _null(_b: bytes, p: int) -> tuple[None, int]:
    return None, p


def _compile(avro_type: Any, named: dict[str, Reader]) -> Reader:
    if isinstance(avro_type, str) and avro_type in named:
        return named[avro_type]
    if isinstance(avro_type, dict) and avro_type.get("logicalType") == "date" and avro_type["type"] == "int":
        return _date
    primitive = avro_type if isinstance(avro_type, str) else avro_type["type"] if isinstance(avro_type, dict) else None
    if primitive in ("double", "float"):
        return _fixed_size("<d" if primitive == "double" else "<f")
    if primitive == "null":
        return _null
    scope = _scope()
    if _type_key(avro_type) is not None or isinstance(avro_type, list):
        return _generated(str(avro_type), [*_value_lines(avro_type, named, scope), "return v, p"], scope)
    kind = avro_type["type"]
    if kind == "array":
        return _blocks("array", avro_type["items"], named, scope, keyed=False)
    if kind == "map":
        return _blocks("map", avro_type["values"], named, scope, keyed=True)
    if kind == "enum":
        return named_type(named, avro_type, _enum(avro_type["symbols"]))
    if kind == "record":
        return named_type(named, avro_type, _record(avro_type, named))
    return _compile(kind, named)


def reader(schema: dict) -> Callable[[bytes, int], dict]:
    """`read(message, start)`: the record whose body fills `message` from `start` to its end, or
    CorruptBody saying what in the bytes does not fit the schema."""
    record = _compile(schema, {})

    def read(message: bytes, start: int) -> dict:
        try:
            value, end = record(message, start)
        except CorruptBody:
            raise
        except (IndexError, struct.error):
            raise CorruptBody("the body ends before its last field") from None
        except UnicodeDecodeError as exc:
            raise CorruptBody(f"a string that is not UTF-8 ({exc.reason})") from None
        except (OverflowError, ValueError):
            raise CorruptBody("a date or time beyond the calendar") from None
        if end != len(message):
            raise CorruptBody(f"{len(message) - end} bytes after the last field")
        return value
    return read
