"""The emulator's own P0 data-point codec (protocol.md §5), independent of the integration's.

A fixed-length ("standard") status is read as one big-endian integer and every point is a
(shift, width) slice of it (see `emulator.product`); a control carries attr_flags (one bit per
writable point, bit i = the i-th, big-endian) and then the writable section. Variable-length
products (0x11-0x14) carry flags over all points, then the flagged bit fields packed from bit 0
into one big-endian region, then the flagged byte fields, each in id order.

Shown values: bool, an enum's option (sent as its index), a uint's raw * ratio + addition (an
int when ratio and addition are whole, else a float), a binary point's raw bytes. Anything
undecodable or unencodable raises `P0Error` (a ValueError), never another exception.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
import math
from typing import Any

from emulator.product import Point, Product, read_product

type Value = bool | int | float | str | bytes

CONTROL, READ, READ_REPLY, REPORT, TO_DEVICE, FROM_DEVICE = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06
VARIABLE = 0x10  # 0x11-0x14: the same four status actions for variable-length products


class P0Error(ValueError):
    """A P0 payload or message that does not fit the product."""


@dataclass(frozen=True, slots=True)
class Control:
    """0x01 / 0x11, app -> device: set these writable points."""

    values: Mapping[str, Value] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """0x02 / 0x12, app -> device. `names`: the points asked for (variable length only)."""

    names: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ReadReply:
    """0x03 / 0x13, device -> app: the status, answering a read."""

    values: Mapping[str, Value] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StatusReport:
    """0x04 / 0x14, device -> app: the status, unasked."""

    values: Mapping[str, Value] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Transparent:
    """0x05 (app -> device) / 0x06 (device -> app): bytes P0 does not interpret."""

    action: int
    data: bytes


type P0Message = Control | ReadRequest | ReadReply | StatusReport | Transparent


# -- one value -------------------------------------------------------------------------------


def shown_value(point: Point, raw: int | bytes) -> Value:
    """What a raw field means (P0Error: a raw value the definition does not allow)."""
    if isinstance(raw, bytes):
        return raw
    if point.kind == "enum":
        if raw >= len(point.options):
            raise P0Error(f"{point.name}: index {raw} names none of {len(point.options)} options")
        return point.options[raw]
    if not point.raw_min <= raw <= point.raw_max:
        raise P0Error(f"{point.name}: raw {raw} outside {point.raw_min}..{point.raw_max}")
    if point.kind == "bool":
        return raw == 1
    return _scaled(point, raw)


def _scaled(point: Point, raw: int) -> int | float:
    shown = point.ratio * raw + point.addition
    return int(shown) if point.whole_numbers else float(shown)


def raw_value(point: Point, value: object) -> int | bytes:
    """The raw field for a shown value (P0Error: wrong type, unknown option, out of range)."""
    if point.kind == "binary":
        if not isinstance(value, bytes | bytearray) or len(value) * 8 != point.width:
            raise P0Error(f"{point.name}: needs {point.width // 8} raw bytes, got {value!r}")
        return bytes(value)
    if point.kind == "bool":
        if not isinstance(value, bool):
            raise P0Error(f"{point.name}: needs True or False, got {value!r}")
        return int(value)
    if point.kind == "enum":
        if not isinstance(value, str) or value not in point.options:
            raise P0Error(f"{point.name}: {value!r} is none of {list(point.options)}")
        return point.options.index(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise P0Error(f"{point.name}: needs a finite number, got {value!r}")
    try:
        exact = (Decimal(repr(value)) - point.addition) / point.ratio
        raw = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except InvalidOperation as err:
        raise P0Error(f"{point.name}: cannot scale {value!r}") from err
    if not point.raw_min <= raw <= point.raw_max:
        low, high = _scaled(point, point.raw_min), _scaled(point, point.raw_max)
        raise P0Error(f"{point.name}: {value!r} outside {low}..{high}")
    return raw


def _field_int(raw: int | bytes) -> int:
    return int.from_bytes(raw, "big") if isinstance(raw, bytes) else raw


def _field_raw(point: Point, number: int) -> int | bytes:
    return number.to_bytes(point.width // 8, "big") if point.kind == "binary" else number


def _slice(number: int, shift: int, width: int) -> int:
    return (number >> shift) & ((1 << width) - 1)


def _flags(count: int) -> int:
    """Bytes of a flag field over `count` points."""
    return -(-count // 8)


# -- the codec -------------------------------------------------------------------------------


class DataPointCodec:
    """Encodes and decodes one product's P0 payloads."""

    def __init__(self, product: Product) -> None:
        """`product`: what `emulator.product.read_product` made of a definition."""
        self.product = product

    @classmethod
    def from_definition(cls, data: str | bytes | Mapping[str, Any]) -> DataPointCodec:
        """The codec for a definition (JSON text or object); ProductError if it is bad."""
        return cls(read_product(data))

    def _named(self, names: Iterable[str], *, writable: bool = False) -> list[Point]:
        """The points called `names`, in id order."""
        wanted = set(names)
        for name in wanted:
            point = self.product.point(name)
            if point is None:
                raise P0Error(f"{name!r}: the product has no such point")
            if writable and not point.writable:
                raise P0Error(f"{name}: a {point.access} point cannot be controlled")
        return [p for p in self.product.points if p.name in wanted]

    # encoding -------------------------------------------------------------------------------

    def encode(self, message: P0Message) -> bytes:
        """The payload for `message` (P0Error: it does not fit the product)."""
        if isinstance(message, Transparent):
            if message.action not in (TO_DEVICE, FROM_DEVICE):
                raise P0Error(f"transparent data is action 5 or 6, not {message.action}")
            return bytes([message.action]) + message.data
        if self.product.variable_length:
            return self._encode_variable(message)
        return self._encode_fixed(message)

    def _encode_fixed(self, message: P0Message) -> bytes:
        product = self.product
        match message:
            case ReadRequest(names=None):
                return bytes([READ])
            case ReadRequest():
                raise P0Error("a fixed-length read asks for the whole status, not for names")
            case Control(values=values):
                chosen = self._named(values, writable=True)
                writable = product.writable
                flags = sum(1 << writable.index(p) for p in chosen)
                section = self._pack_fixed(chosen, values, product.control_bytes)
                return (
                    bytes([CONTROL])
                    + flags.to_bytes(_flags(len(writable)), "big")
                    + section.to_bytes(product.control_bytes, "big")
                )
            case ReadReply(values=values) | StatusReport(values=values):
                self._named(values)
                missing = [p.name for p in product.points if p.name not in values]
                if missing:
                    raise P0Error(f"a fixed-length status needs every point; missing {missing}")
                status = self._pack_fixed(product.points, values, product.status_bytes)
                action = READ_REPLY if isinstance(message, ReadReply) else REPORT
                return bytes([action]) + status.to_bytes(product.status_bytes, "big")
        raise P0Error(f"not a P0 message: {message!r}")

    @staticmethod
    def _pack_fixed(points: Iterable[Point], values: Mapping[str, object], size: int) -> int:
        number = 0
        for point in points:
            raw = _field_int(raw_value(point, values[point.name]))
            number |= raw << (size * 8 - point.end)
        return number

    def _encode_variable(self, message: P0Message) -> bytes:
        match message:
            case ReadRequest(names=names):
                chosen = self.product.points if names is None else self._named(names)
                return bytes([VARIABLE | READ]) + self._variable_flags(chosen)
            case Control(values=values):
                chosen = self._named(values, writable=True)
                action = VARIABLE | CONTROL
            case ReadReply(values=values):
                chosen, action = self._named(values), VARIABLE | READ_REPLY
            case StatusReport(values=values):
                chosen, action = self._named(values), VARIABLE | REPORT
            case _:
                raise P0Error(f"not a P0 message: {message!r}")
        bits = [p for p in chosen if p.in_bits]
        region, used = 0, 0
        for point in bits:
            region |= _field_int(raw_value(point, values[point.name])) << used
            used += point.width
        body = region.to_bytes(_flags(used), "big")
        for point in chosen:
            if not point.in_bits:
                raw = _field_int(raw_value(point, values[point.name]))
                body += raw.to_bytes(point.width // 8, "big")
        return bytes([action]) + self._variable_flags(chosen) + body

    def _variable_flags(self, chosen: Iterable[Point]) -> bytes:
        points = self.product.points
        flags = sum(1 << points.index(p) for p in chosen)
        return flags.to_bytes(_flags(len(points)), "big")

    # decoding -------------------------------------------------------------------------------

    def decode(self, payload: bytes) -> P0Message:
        """The message in `payload` (P0Error: anything that does not fit the product)."""
        payload = bytes(payload)
        if not payload:
            raise P0Error("an empty payload has no action")
        action, body = payload[0], payload[1:]
        if action in (TO_DEVICE, FROM_DEVICE):
            return Transparent(action, body)
        variable = self.product.variable_length
        if action in (CONTROL, READ, READ_REPLY, REPORT) and not variable:
            return self._decode_fixed(action, body)
        if action - VARIABLE in (CONTROL, READ, READ_REPLY, REPORT) and variable:
            return self._decode_variable(action - VARIABLE, body)
        kind = "variable-length" if variable else "fixed-length"
        raise P0Error(f"action 0x{action:02x} is not one a {kind} product uses")

    def _decode_fixed(self, action: int, body: bytes) -> P0Message:
        product = self.product
        if action == READ:
            if body:
                raise P0Error(f"a fixed-length read has no body, got {len(body)} bytes")
            return ReadRequest()
        if action == CONTROL:
            writable = product.writable
            width = _flags(len(writable))
            self._expect(body, width + product.control_bytes, "a control after the action")
            flags = int.from_bytes(body[:width], "big")
            if flags >> len(writable):
                raise P0Error(f"control flags 0x{flags:x} name more than {len(writable)} points")
            chosen = [p for i, p in enumerate(writable) if flags >> i & 1]
            section = int.from_bytes(body[width:], "big")
            return Control(self._unpack_fixed(chosen, section, product.control_bytes))
        self._expect(body, product.status_bytes, "a status after the action")
        values = self._unpack_fixed(product.points, int.from_bytes(body, "big"), len(body))
        return ReadReply(values) if action == READ_REPLY else StatusReport(values)

    @staticmethod
    def _expect(body: bytes, size: int, what: str) -> None:
        if len(body) != size:
            raise P0Error(f"{what}: {size} bytes expected, got {len(body)}")

    @staticmethod
    def _unpack_fixed(points: Iterable[Point], number: int, size: int) -> dict[str, Value]:
        return {
            p.name: shown_value(p, _field_raw(p, _slice(number, size * 8 - p.end, p.width)))
            for p in points
        }

    def _decode_variable(self, action: int, body: bytes) -> P0Message:
        points = self.product.points
        width = _flags(len(points))
        if len(body) < width:
            raise P0Error(f"variable-length flags are {width} bytes, got {len(body)}")
        flags = int.from_bytes(body[:width], "big")
        if flags >> len(points):
            raise P0Error(f"flags 0x{flags:x} name more than {len(points)} points")
        chosen = [p for i, p in enumerate(points) if flags >> i & 1]
        rest = body[width:]
        if action == READ:
            if rest:
                raise P0Error(f"a variable-length read is only its flags, got {len(rest)} more")
            return ReadRequest(tuple(p.name for p in chosen))
        if action == CONTROL:
            self._named((p.name for p in chosen), writable=True)
        bits = [p for p in chosen if p.in_bits]
        bit_bytes = _flags(sum(p.width for p in bits))
        size = bit_bytes + sum(p.width // 8 for p in chosen if not p.in_bits)
        self._expect(rest, size, "the values after the flags")
        region = int.from_bytes(rest[:bit_bytes], "big")
        values: dict[str, Value] = {}
        used = 0
        for point in bits:
            values[point.name] = shown_value(point, _slice(region, used, point.width))
            used += point.width
        at = bit_bytes
        for point in chosen:
            if not point.in_bits:
                chunk = rest[at : at + point.width // 8]
                at += len(chunk)
                raw = chunk if point.kind == "binary" else int.from_bytes(chunk, "big")
                values[point.name] = shown_value(point, raw)
        ordered = {p.name: values[p.name] for p in chosen}
        if action == CONTROL:
            return Control(ordered)
        return ReadReply(ordered) if action == READ_REPLY else StatusReport(ordered)


__all__ = [
    "Control",
    "DataPointCodec",
    "P0Error",
    "P0Message",
    "ReadReply",
    "ReadRequest",
    "StatusReport",
    "Transparent",
    "Value",
    "raw_value",
    "shown_value",
]
