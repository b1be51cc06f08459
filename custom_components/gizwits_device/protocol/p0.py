"""Gizwits "P0" data-point payloads: the bytes inside 0x0090/0x0091/0x0093/0x0094 (protocol.md §5).

Every payload starts with an action byte (P0Action). Standard (fixed-length) products::

    0x01 control     flags (ceil(W/8) B, BE, bit i = i-th writable point) + writable section
    0x02 read        (nothing)
    0x03 read reply  whole status, laid out by each point's position
    0x04 report      whole status

Variable-length (``var_len``) products use 0x11-0x14 for the same four, each a flags field over
all points (ceil(N/8) B, BE, bit i = i-th point in id order) followed - except for the read
request - by the flagged bit fields packed from bit 0 in id order, then the flagged byte fields
in id order. 0x05 / 0x06 carry opaque bytes app -> device / device -> app.

Bit regions read as one big-endian integer, a field's value at bits bit_offset..+len. That is
what the MCU SDK produces: gizStandardCompressValue ORs the value into region byte
bit_offset // 8 at bit bit_offset % 8 (a field crossing a byte boundary carries its high bits
into the next byte), then gizByteOrderExchange reverses the region's bytes, so bit 0 lives in
the region's last byte; a 9th switch (BYTEOFFSET 1 / BITOFFSET 8 in a 2-byte region) is the
lowest bit of the region's first byte on the wire. gizVarlenCompressValue does the same for
var_len bit fields. uint16/uint32 are big-endian.
The messages and errors are in p0_messages.py.
"""

from collections.abc import Iterable, Mapping
import math
from typing import assert_never

from .p0_messages import (
    Control,
    Direction,
    P0Action,
    P0ActionMismatchError,
    P0FlagError,
    P0LengthError,
    P0Message,
    P0MissingValueError,
    P0ReadOnlyError,
    P0TruncatedError,
    P0UnknownActionError,
    P0UnknownPointError,
    P0ValueError,
    ReadReply,
    ReadRequest,
    StatusReport,
    TransparentData,
    Value,
)
from .product import DataPoint, DataType, ProductModel

__all__ = ["P0Codec"]

_FIXED_ACTIONS = frozenset({P0Action.CONTROL, P0Action.READ, P0Action.READ_REPLY, P0Action.REPORT})
_VARLEN_ACTIONS = frozenset(
    {
        P0Action.VARLEN_CONTROL,
        P0Action.VARLEN_READ,
        P0Action.VARLEN_READ_REPLY,
        P0Action.VARLEN_REPORT,
    }
)


def _flag_bytes(count: int) -> int:
    return (count + 7) // 8


# --- codec ------------------------------------------------------------------------------------


class P0Codec:
    """Encode/decode P0 payloads for one product. Pure; raises P0Error subclasses only."""

    __slots__ = ("_regions", "_status_length", "_writable_length", "model")

    def __init__(self, model: ProductModel) -> None:
        self.model = model
        # Fixed layout: each bit region's length, keyed by its first byte (product.py checked it).
        # var_len exports carry all-zero positions, which mean nothing there.
        regions: dict[int, int] = {}
        for point in () if model.variable_length else model.points:
            if point.is_bit_field:
                end = (point.bit_offset + point.length + 7) // 8
                regions[point.region_start] = max(regions.get(point.region_start, 0), end)
        self._regions = regions
        fixed = () if model.variable_length else model.points
        self._writable_length = self._section_end(p for p in fixed if p.writable)
        self._status_length = self._section_end(fixed)

    def _section_end(self, points: Iterable[DataPoint]) -> int:
        ends = [
            p.region_start + self._regions[p.region_start]
            if p.is_bit_field
            else p.byte_offset + p.length
            for p in points
        ]
        return max(ends, default=0)

    # decode ---------------------------------------------------------------------------------

    def decode(self, payload: bytes) -> P0Message:
        """Parse one P0 payload; any defect raises a P0Error subclass."""
        if not payload:
            raise P0TruncatedError("empty P0 payload (no action byte)")
        try:
            action = P0Action(payload[0])
        except ValueError:
            raise P0UnknownActionError(payload[0]) from None
        body = bytes(payload[1:])
        if action is P0Action.TRANSPARENT_TO_DEVICE:
            return TransparentData(Direction.APP_TO_DEVICE, body)
        if action is P0Action.TRANSPARENT_TO_APP:
            return TransparentData(Direction.DEVICE_TO_APP, body)
        if self.model.variable_length:
            if action not in _VARLEN_ACTIONS:
                raise P0ActionMismatchError(
                    f"action 0x{action:02x} is for standard products; this one is var_len"
                )
            return self._decode_varlen(action, body)
        if action not in _FIXED_ACTIONS:
            raise P0ActionMismatchError(
                f"action 0x{action:02x} is for var_len products; this one is standard"
            )
        return self._decode_fixed(action, body)

    def _decode_fixed(self, action: P0Action, body: bytes) -> P0Message:
        if action is P0Action.READ:
            _expect_length(body, 0, "read request")
            return ReadRequest()
        if action is P0Action.CONTROL:
            writable = self.model.writable
            flag_len = _flag_bytes(len(writable))
            _expect_length(body, flag_len + self._writable_length, "control")
            flags = _read_flags(body[:flag_len], len(writable), "writable")
            section = body[flag_len:]
            values = {
                p.name: self._read_fixed(p, section)
                for i, p in enumerate(writable)
                if flags >> i & 1
            }
            return Control(values)
        _expect_length(body, self._status_length, "status")
        status = {p.name: self._read_fixed(p, body) for p in self.model.points}
        return ReadReply(status) if action is P0Action.READ_REPLY else StatusReport(status)

    def _read_fixed(self, point: DataPoint, section: bytes) -> Value:
        if point.is_bit_field:
            start = point.region_start
            region = section[start : start + self._regions[start]]
            raw = int.from_bytes(region, "big") >> point.bit_offset & ((1 << point.length) - 1)
            return _from_raw(point, raw)
        chunk = section[point.byte_offset : point.byte_offset + point.length]
        return _from_bytes(point, chunk)

    def _decode_varlen(self, action: P0Action, body: bytes) -> P0Message:
        points = self.model.points
        flag_len = _flag_bytes(len(points))
        if len(body) < flag_len:
            raise P0TruncatedError(f"flags need {flag_len} bytes, got {len(body)}")
        flags = _read_flags(body[:flag_len], len(points), "data")
        flagged = [p for i, p in enumerate(points) if flags >> i & 1]
        if action is P0Action.VARLEN_READ:
            _expect_length(body, flag_len, "read request")
            return ReadRequest(tuple(p.name for p in flagged))
        if action is P0Action.VARLEN_CONTROL:
            for point in flagged:
                if not point.writable:
                    raise P0ReadOnlyError(point.name, f"is {point.access}, not writable")
        bit_points = [p for p in flagged if p.is_bit_field]
        byte_points = [p for p in flagged if not p.is_bit_field]
        bit_len = _flag_bytes(sum(p.length for p in bit_points))
        total = flag_len + bit_len + sum(p.length for p in byte_points)
        _expect_length(body, total, "variable-length status")
        bits = int.from_bytes(body[flag_len : flag_len + bit_len], "big")
        values: dict[str, Value] = {}
        shift = 0
        for point in bit_points:
            values[point.name] = _from_raw(point, bits >> shift & ((1 << point.length) - 1))
            shift += point.length
        offset = flag_len + bit_len
        for point in byte_points:
            values[point.name] = _from_bytes(point, body[offset : offset + point.length])
            offset += point.length
        ordered = {p.name: values[p.name] for p in flagged}
        if action is P0Action.VARLEN_CONTROL:
            return Control(ordered)
        if action is P0Action.VARLEN_READ_REPLY:
            return ReadReply(ordered)
        return StatusReport(ordered)

    # encode ---------------------------------------------------------------------------------

    def encode(self, message: P0Message) -> bytes:
        """Serialise a message for this product; bad names/values raise P0Error subclasses."""
        match message:
            case TransparentData(direction=direction, data=data):
                action = (
                    P0Action.TRANSPARENT_TO_DEVICE
                    if direction is Direction.APP_TO_DEVICE
                    else P0Action.TRANSPARENT_TO_APP
                )
                return bytes([action]) + bytes(data)
            case Control(values=values):
                self._check_control(values)
                if self.model.variable_length:
                    return self._encode_varlen(P0Action.VARLEN_CONTROL, values)
                return self._encode_fixed_control(values)
            case ReadRequest(names=names):
                return self._encode_read(names)
            case ReadReply(values=values):
                return self._encode_status(P0Action.READ_REPLY, values)
            case StatusReport(values=values):
                return self._encode_status(P0Action.REPORT, values)
            case _:
                assert_never(message)

    def _check_control(self, values: Mapping[str, Value]) -> None:
        for name in values:
            point = self._point(name)
            if not point.writable:
                raise P0ReadOnlyError(name, f"is {point.access}, not writable")

    def _point(self, name: str) -> DataPoint:
        if name not in self.model:
            raise P0UnknownPointError(name, f"no such data point in {self.model.name!r}")
        return self.model.point(name)

    def _encode_fixed_control(self, values: Mapping[str, Value]) -> bytes:
        writable = self.model.writable
        flags = sum(1 << i for i, p in enumerate(writable) if p.name in values)
        section = bytearray(self._writable_length)
        for point in writable:
            if point.name in values:
                self._write_fixed(point, values[point.name], section)
        flag_len = _flag_bytes(len(writable))
        return bytes([P0Action.CONTROL]) + flags.to_bytes(flag_len, "big") + bytes(section)

    def _write_fixed(self, point: DataPoint, value: Value, section: bytearray) -> None:
        if point.is_bit_field:
            start = point.region_start
            size = self._regions[start]
            end = start + size
            region = int.from_bytes(section[start:end], "big")
            region |= _to_raw(point, value) << point.bit_offset
            section[start:end] = region.to_bytes(size, "big")
        else:
            start = point.byte_offset
            section[start : start + point.length] = _to_bytes(point, value)

    def _encode_read(self, names: tuple[str, ...] | None) -> bytes:
        if not self.model.variable_length:
            if names is not None:
                raise P0ActionMismatchError(
                    "standard products read the whole status; a read cannot name points"
                )
            return bytes([P0Action.READ])
        points = self.model.points
        wanted = {p.name for p in points} if names is None else {self._point(n).name for n in names}
        flags = sum(1 << i for i, p in enumerate(points) if p.name in wanted)
        return bytes([P0Action.VARLEN_READ]) + flags.to_bytes(_flag_bytes(len(points)), "big")

    def _encode_status(self, action: P0Action, values: Mapping[str, Value]) -> bytes:
        for name in values:
            self._point(name)
        if self.model.variable_length:
            varlen = (
                P0Action.VARLEN_READ_REPLY
                if action is P0Action.READ_REPLY
                else P0Action.VARLEN_REPORT
            )
            return self._encode_varlen(varlen, values)
        section = bytearray(self._status_length)
        for point in self.model.points:
            if point.name not in values:
                raise P0MissingValueError(point.name, "a standard status needs every point")
            self._write_fixed(point, values[point.name], section)
        return bytes([action]) + bytes(section)

    def _encode_varlen(self, action: P0Action, values: Mapping[str, Value]) -> bytes:
        points = self.model.points
        flagged = [p for p in points if p.name in values]
        flags = sum(1 << i for i, p in enumerate(points) if p.name in values)
        bits = 0
        shift = 0
        for point in (p for p in flagged if p.is_bit_field):
            bits |= _to_raw(point, values[point.name]) << shift
            shift += point.length
        byte_fields = b"".join(_to_bytes(p, values[p.name]) for p in flagged if not p.is_bit_field)
        return (
            bytes([action])
            + flags.to_bytes(_flag_bytes(len(points)), "big")
            + bits.to_bytes(_flag_bytes(shift), "big")
            + byte_fields
        )


# --- value conversion -------------------------------------------------------------------------


def _expect_length(body: bytes, expected: int, what: str) -> None:
    if len(body) < expected:
        raise P0TruncatedError(f"{what} needs {expected} bytes after the action, got {len(body)}")
    if len(body) > expected:
        raise P0LengthError(f"{what} is {expected} bytes after the action, got {len(body)}")


def _read_flags(data: bytes, count: int, kind: str) -> int:
    flags = int.from_bytes(data, "big")
    if flags >> count:
        raise P0FlagError(
            f"flag bit {flags.bit_length() - 1} is set but the product has {count} {kind} points"
        )
    return flags


def _from_raw(point: DataPoint, raw: int) -> Value:
    """Bit field raw value -> shown value."""
    if point.data_type is DataType.BOOL:
        return bool(raw)
    if raw >= len(point.options):
        raise P0ValueError(point.name, f"enum index {raw} is not one of {len(point.options)}")
    return point.options[raw]


def _from_bytes(point: DataPoint, chunk: bytes) -> Value:
    """Byte field bytes -> shown value."""
    if point.data_type is DataType.BINARY:
        return bytes(chunk)
    raw = int.from_bytes(chunk, "big")
    if not point.raw_in_range(raw):
        raise P0ValueError(
            point.name, f"raw value {raw} is out of range {point.minimum}..{point.maximum}"
        )
    return point.to_shown(raw)


def _to_raw(point: DataPoint, value: Value) -> int:
    """Shown value -> bit field raw value."""
    if point.data_type is DataType.BOOL:
        if not isinstance(value, bool):
            raise P0ValueError(point.name, f"expects a bool, got {type(value).__name__}")
        return int(value)
    if not isinstance(value, str) or value not in point.options:
        raise P0ValueError(point.name, f"{value!r} is not one of {list(point.options)}")
    return point.options.index(value)


def _to_bytes(point: DataPoint, value: Value) -> bytes:
    """Shown value -> byte field bytes."""
    if point.data_type is DataType.BINARY:
        if not isinstance(value, bytes | bytearray):
            raise P0ValueError(point.name, f"expects bytes, got {type(value).__name__}")
        if len(value) != point.length:
            raise P0ValueError(point.name, f"expects {point.length} bytes, got {len(value)}")
        return bytes(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise P0ValueError(point.name, f"expects a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise P0ValueError(point.name, f"{value!r} is not a finite number")
    raw = point.to_raw(value)
    if not point.raw_in_range(raw):
        raise P0ValueError(
            point.name, f"{value!r} is out of range {point.shown_min}..{point.shown_max}"
        )
    return raw.to_bytes(point.length, "big")
