"""Data-point values as a device holds them: defaults, validation, and their stored form."""

from __future__ import annotations

import math

from ..errors import GizwitsValueError
from ..p0_messages import Value
from ..product import DataPoint, DataType

__all__ = [
    "PointValueError",
    "check_value",
    "default_value",
    "from_json_value",
    "to_json_value",
]


class PointValueError(GizwitsValueError):
    """A value does not fit its data point (or cannot be applied to what the point follows)."""


def default_value(point: DataPoint) -> Value:
    """The value a point has before anything is known: off, the first option, the minimum."""
    if point.data_type is DataType.BOOL:
        return False
    if point.data_type is DataType.ENUM:
        return point.options[0]
    if point.data_type is DataType.BINARY:
        return bytes(point.length)
    return point.shown_min


def check_value(point: DataPoint, value: object) -> Value:
    """``value`` as a valid shown value of the point (uints quantized); PointValueError if not."""
    if point.data_type is DataType.BOOL and isinstance(value, bool):
        return value
    if point.data_type is DataType.ENUM and isinstance(value, str) and value in point.options:
        return value
    if (
        point.data_type is DataType.BINARY
        and isinstance(value, bytes | bytearray)
        and len(value) == point.length
    ):
        return bytes(value)
    if (
        point.is_uint
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and point.raw_in_range(point.to_raw(value))
    ):
        return point.to_shown(point.to_raw(value))
    raise PointValueError(f"{value!r} is not a valid value of {point.name}")


def to_json_value(value: Value) -> bool | int | float | str:
    """A value as JSON (binary as hex) for storage."""
    return value.hex() if isinstance(value, bytes) else value


def from_json_value(point: DataPoint, raw: object) -> Value:
    """The inverse of to_json_value; PointValueError when it does not fit the point."""
    if point.data_type is DataType.BINARY and isinstance(raw, str):
        try:
            raw = bytes.fromhex(raw)
        except ValueError as err:
            raise PointValueError(f"{raw!r} is not hex") from err
    return check_value(point, raw)
