"""The emulator's own reader of a product definition (the Gizwits console's JSON export).

Written apart from the integration's product model, from protocol.md §5 and the golden vectors,
so a layout mistake on either side fails a test instead of being mirrored.

Every point gets a *slot*: where its raw value sits when a fixed-length ("standard") status is
read as one big-endian integer. A bit region of n bytes starting at byte s is itself one
big-endian integer (bit 0 in its last byte), and so is a byte field, so both reduce to "the
field ends `end` bits after the start of the status": a bit field at region bit b ends at
(s + n) * 8 - b, a byte field at offset o with length L ends at (o + L) * 8.

The region start follows from the layout: sections (writable, read-only, alert, fault) lie
back to back, each a bit region followed by its byte fields. A bit field's `byte_offset` may be
the region start (the console's form, `bit_offset` counting across the region) or the byte
holding the bit, start + bit_offset // 8 (the MCU SDK header form); anything else is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
import itertools
import json
from typing import Any

SECTIONS = ("status_writable", "status_readonly", "alert", "fault")
_KINDS = {
    "bool": "bool",
    "enum": "enum",
    "uint8": "uint",
    "uint16": "uint",
    "uint32": "uint",
    "binary": "binary",
}


class ProductError(ValueError):
    """A product definition the emulator cannot lay out (the message names the point)."""


@dataclass(frozen=True, slots=True)
class Point:
    """One data point: what its raw value means and where a fixed-length status keeps it."""

    name: str
    kind: str  # bool | enum | uint | binary
    access: str  # one of SECTIONS
    in_bits: bool  # a bit field (else whole bytes)
    width: int  # in bits
    end: int  # fixed layout: bits from the start of the status to the field's end
    options: tuple[str, ...] = ()
    ratio: Decimal = Decimal(1)
    addition: Decimal = Decimal(0)
    raw_min: int = 0
    raw_max: int = 0

    @property
    def writable(self) -> bool:
        """Only writable points may be in a control."""
        return self.access == "status_writable"

    @property
    def whole_numbers(self) -> bool:
        """A uint shown as an int: ratio and addition both whole."""
        return self.ratio == self.ratio.to_integral_value() and (
            self.addition == self.addition.to_integral_value()
        )


@dataclass(frozen=True, slots=True)
class Product:
    """A product's points in id order and the sizes of its fixed-length layout."""

    name: str
    product_key: str
    variable_length: bool
    points: tuple[Point, ...]
    status_bytes: int  # fixed layout: the whole status
    control_bytes: int  # fixed layout: the writable section a control carries

    @property
    def writable(self) -> tuple[Point, ...]:
        """The writable points in id order (a control's flag bits)."""
        return tuple(p for p in self.points if p.writable)

    def point(self, name: str) -> Point | None:
        """The point called `name`, or None."""
        for candidate in self.points:
            if candidate.name == name:
                return candidate
        return None


def _number(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProductError(f"{where} must be a number, got {value!r}")
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _whole(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProductError(f"{where} must be a whole number, got {value!r}")
    return value


class _Attr:
    """One raw attr of the export, read defensively."""

    def __init__(self, raw: Any, index: int) -> None:
        if not isinstance(raw, Mapping):
            raise ProductError(f"attr #{index} is not an object")
        self.raw = raw
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise ProductError(f"attr #{index} has no name")
        self.name = name
        self.order = raw.get("id", index)
        if isinstance(self.order, bool) or not isinstance(self.order, int):
            raise ProductError(f"{name!r}: id must be a whole number")
        data_type = raw.get("data_type")
        kind = _KINDS.get(data_type) if isinstance(data_type, str) else None
        if kind is None:
            raise ProductError(f"{name!r}: unknown data_type {raw.get('data_type')!r}")
        self.kind = kind
        if not isinstance(raw.get("type"), str) or raw["type"] not in SECTIONS:
            raise ProductError(f"{name!r}: unknown type {raw.get('type')!r}")
        self.access: str = raw["type"]
        position = raw.get("position")
        if not isinstance(position, Mapping):
            raise ProductError(f"{name!r}: no position")
        self.in_bits = position.get("unit") == "bit"
        if not self.in_bits and position.get("unit") != "byte":
            raise ProductError(f"{name!r}: position unit must be bit or byte")
        self.length = _whole(position.get("len"), f"{name!r}: len")
        self.byte_offset = _whole(position.get("byte_offset", 0), f"{name!r}: byte_offset")
        self.bit_offset = _whole(position.get("bit_offset", 0), f"{name!r}: bit_offset")
        if self.length < 1 or self.byte_offset < 0 or self.bit_offset < 0:
            raise ProductError(f"{name!r}: len must be positive and offsets not negative")
        if kind in ("bool", "enum") and not self.in_bits:
            raise ProductError(f"{name!r}: a {raw['data_type']} is a bit field")
        if kind == "binary" and self.in_bits:
            raise ProductError(f"{name!r}: a binary point is whole bytes")
        if kind == "bool" and self.length != 1:
            raise ProductError(f"{name!r}: a bool is one bit")

    @property
    def width(self) -> int:
        return self.length if self.in_bits else self.length * 8

    def point(self, end: int) -> Point:
        name, raw = self.name, self.raw
        options: tuple[str, ...] = ()
        ratio, addition, raw_min, raw_max = Decimal(1), Decimal(0), 0, (1 << self.width) - 1
        if self.kind == "enum":
            listed = raw.get("enum")
            if not isinstance(listed, list) or not listed:
                raise ProductError(f"{name!r}: an enum needs its options")
            options = tuple(str(option) for option in listed)
            if len(options) > 1 << self.width:
                raise ProductError(f"{name!r}: {len(options)} options in {self.width} bits")
        elif self.kind == "uint":
            spec = raw.get("uint_spec") or {}
            if not isinstance(spec, Mapping):
                raise ProductError(f"{name!r}: uint_spec must be an object")
            ratio = _number(spec.get("ratio", 1), f"{name!r}: ratio")
            addition = _number(spec.get("addition", 0), f"{name!r}: addition")
            raw_min = _whole(spec.get("min", raw_min), f"{name!r}: min")
            raw_max = _whole(spec.get("max", raw_max), f"{name!r}: max")
            if ratio <= 0 or not 0 <= raw_min <= raw_max < 1 << self.width:
                raise ProductError(f"{name!r}: uint_spec does not fit {self.width} bits")
        elif self.kind == "bool":
            raw_max = 1
        return Point(
            name=name,
            kind=self.kind,
            access=self.access,
            in_bits=self.in_bits,
            width=self.width,
            end=end,
            options=options,
            ratio=ratio,
            addition=addition,
            raw_min=raw_min,
            raw_max=raw_max,
        )


def _fixed_layout(attrs: list[_Attr]) -> tuple[dict[str, int], int, int]:
    """Each attr's slot end, the status size and the writable section's size, in bytes."""
    ends: dict[str, int] = {}
    cursor = 0
    control_bytes = 0
    for section in SECTIONS:
        members = [a for a in attrs if a.access == section]
        bits = [a for a in members if a.in_bits]
        region = -(-max((a.bit_offset + a.length for a in bits), default=0) // 8)
        for attr in bits:
            if attr.byte_offset not in (cursor, cursor + attr.bit_offset // 8):
                raise ProductError(
                    f"{attr.name!r}: byte_offset {attr.byte_offset} is neither its bit region's "
                    f"start ({cursor}) nor the byte holding bit {attr.bit_offset} "
                    f"({cursor + attr.bit_offset // 8})"
                )
            ends[attr.name] = (cursor + region) * 8 - attr.bit_offset
        section_end = cursor + region
        for attr in members:
            if not attr.in_bits:
                if attr.byte_offset < cursor + region:
                    raise ProductError(
                        f"{attr.name!r}: byte_offset {attr.byte_offset} lies before the end of "
                        f"its section's bit region (byte {cursor + region})"
                    )
                ends[attr.name] = (attr.byte_offset + attr.length) * 8
                section_end = max(section_end, attr.byte_offset + attr.length)
        cursor = section_end
        if section == "status_writable":
            control_bytes = cursor
    taken = sorted((ends[a.name] - a.width, ends[a.name], a.name) for a in attrs)
    for (_, first_end, first), (second_start, _, second) in itertools.pairwise(taken):
        if second_start < first_end:
            raise ProductError(f"{first!r} and {second!r} overlap")
    return ends, cursor, control_bytes


def read_product(data: str | bytes | Mapping[str, Any]) -> Product:
    """A product from its definition (JSON text or the parsed object); ProductError if bad."""
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except ValueError as err:  # JSONDecodeError and UnicodeDecodeError
            raise ProductError(f"not JSON: {err}") from err
    if not isinstance(data, Mapping):
        raise ProductError("a product definition is a JSON object")
    entities = data.get("entities")
    if not isinstance(entities, list) or not entities or not isinstance(entities[0], Mapping):
        raise ProductError("no entities[0]")
    raw_attrs = entities[0].get("attrs")
    if not isinstance(raw_attrs, list):
        raise ProductError("entities[0] has no attrs list")
    attrs = sorted((_Attr(raw, i) for i, raw in enumerate(raw_attrs)), key=lambda a: a.order)
    if len({a.name for a in attrs}) != len(attrs):
        raise ProductError("two attrs share a name")
    protocol = data.get("protocolType", "standard")
    if protocol not in ("standard", "var_len"):
        raise ProductError(f"unknown protocolType {protocol!r}")
    variable = protocol == "var_len"
    if variable:
        # Only lengths matter: a variable-length packet carries flagged values back to back.
        ends, status_bytes, control_bytes = {a.name: 0 for a in attrs}, 0, 0
    else:
        ends, status_bytes, control_bytes = _fixed_layout(attrs)
    return Product(
        name=str(data.get("name", "")),
        product_key=str(data.get("product_key", "")),
        variable_length=variable,
        points=tuple(a.point(ends[a.name]) for a in attrs),
        status_bytes=status_bytes,
        control_bytes=control_bytes,
    )


__all__ = ["SECTIONS", "Point", "Product", "ProductError", "read_product"]
