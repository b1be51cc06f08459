"""Gizwits product model: the data points of a product and their value conversion (protocol.md §5).

A `ProductModel` is a validated product definition (see product_import.py for the console's
JSON export and its checks); each `DataPoint` knows where it sits in a standard status and how
its raw (sent) value maps to the shown one: y = x * ratio + addition (gizX2Y / gizY2X in the MCU
SDK), with ``uint_spec.min``/``max`` bounding the raw value x.

Bit fields: ``bit_offset`` counts across the whole bit region (a 9th switch has bit_offset 8) and
``byte_offset`` is the byte holding that bit, region start + bit_offset // 8, as the SDK's
generated ``*_BYTEOFFSET`` / ``*_BITOFFSET`` constants give it. The console's export keeps
byte_offset at the region start instead; product_import.py reads both and normalises to this
one; p0.py has the byte order.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
import math
from types import MappingProxyType
from typing import Self

from .errors import GizwitsError, GizwitsValueError

__all__ = [
    "ACCESS_ORDER",
    "UINT_WIDTH",
    "Access",
    "DataPoint",
    "DataType",
    "ProductDefinitionError",
    "ProductModel",
    "ProtocolType",
    "Unit",
    "UnknownDataPointError",
    "WrongPointTypeError",
]

type Number = int | float


class ProductDefinitionError(GizwitsError, ValueError):
    """The product definition is not a valid Gizwits data-point export."""


class UnknownDataPointError(GizwitsError, KeyError):
    """`ProductModel.point()` was asked for a name the product does not define."""


class WrongPointTypeError(GizwitsError, TypeError):
    """A uint-only conversion (scale, range) was asked of a bool, enum or binary point."""


class DataType(StrEnum):
    """``data_type`` of a data point."""

    BOOL = "bool"
    ENUM = "enum"
    UINT8 = "uint8"
    UINT16 = "uint16"
    UINT32 = "uint32"
    BINARY = "binary"


class Access(StrEnum):
    """``type`` of a data point (who may change it)."""

    WRITABLE = "status_writable"
    READONLY = "status_readonly"
    ALERT = "alert"
    FAULT = "fault"


class Unit(StrEnum):
    """``position.unit``: a bit field or a byte field."""

    BIT = "bit"
    BYTE = "byte"


class ProtocolType(StrEnum):
    """``protocolType``: fixed-length ("standard") or variable-length packets."""

    STANDARD = "standard"
    VAR_LEN = "var_len"


# Section order of the fixed-length status (protocol.md §5).
ACCESS_ORDER = (Access.WRITABLE, Access.READONLY, Access.ALERT, Access.FAULT)

# Byte width of each uint type.
UINT_WIDTH = {DataType.UINT8: 1, DataType.UINT16: 2, DataType.UINT32: 4}


def _dec(value: Number) -> Decimal:
    # str() gives a float's shortest repr, so 0.01 becomes Decimal("0.01"), not its binary
    # expansion; ints convert exactly (str() of a huge int would hit Python's digit limit).
    return Decimal(value) if isinstance(value, int) else Decimal(str(value))


def _integral(value: Number) -> bool:
    return float(value).is_integer()


@dataclass(frozen=True, slots=True)
class DataPoint:
    """One data point (an ``attrs`` entry)."""

    id: int
    name: str
    display_name: str
    description: str
    data_type: DataType
    access: Access
    byte_offset: int
    bit_offset: int
    length: int
    unit: Unit
    minimum: int | None = None
    maximum: int | None = None
    ratio: Number | None = None
    addition: Number | None = None
    options: tuple[str, ...] = ()

    @property
    def writable(self) -> bool:
        """Apps may set this point (``status_writable``)."""
        return self.access is Access.WRITABLE

    @property
    def is_bit_field(self) -> bool:
        """bool/enum points live in a bit region; the rest are whole bytes."""
        return self.unit is Unit.BIT

    @property
    def region_start(self) -> int:
        """First byte of a bit field's region (standard layout): byte_offset - bit_offset // 8."""
        return self.byte_offset - self.bit_offset // 8

    @property
    def is_uint(self) -> bool:
        """uint8/uint16/uint32 point (has a uint_spec)."""
        return self.data_type in UINT_WIDTH

    @property
    def integral(self) -> bool:
        """Shown values are ints (ratio and addition are whole numbers)."""
        return (
            self.ratio is not None
            and self.addition is not None
            and _integral(self.ratio)
            and _integral(self.addition)
        )

    def to_shown(self, raw: int) -> Number:
        """Shown value y = raw * ratio + addition (int when the scale is integral)."""
        ratio, addition = self._scale()
        shown = Decimal(raw) * _dec(ratio) + _dec(addition)
        return int(shown) if self.integral else float(shown)

    def to_raw(self, shown: Number) -> int:
        """Raw value x = round((shown - addition) / ratio), halves away from zero."""
        ratio, addition = self._scale()
        if isinstance(shown, bool) or not isinstance(shown, int | float):
            raise GizwitsValueError(f'"{self.name}": {shown!r} is not a number')
        if isinstance(shown, float) and not math.isfinite(shown):  # ints are always finite
            raise GizwitsValueError(f'"{self.name}": {shown!r} is not a finite number')
        try:
            quotient = (_dec(shown) - _dec(addition)) / _dec(ratio)
        except ArithmeticError as err:  # decimal.Overflow: an int beyond Decimal's exponent
            raise GizwitsValueError(f'"{self.name}": the value is out of any range') from err
        return int(quotient.to_integral_value(rounding=ROUND_HALF_UP))

    def raw_in_range(self, raw: int) -> bool:
        """Raw value within uint_spec min..max."""
        return (
            self.minimum is not None
            and self.maximum is not None
            and (self.minimum <= raw <= self.maximum)
        )

    @property
    def shown_min(self) -> Number:
        """Smallest shown value."""
        return self.to_shown(self._bounds()[0])

    @property
    def shown_max(self) -> Number:
        """Largest shown value."""
        return self.to_shown(self._bounds()[1])

    def _scale(self) -> tuple[Number, Number]:
        if self.ratio is None or self.addition is None:
            raise WrongPointTypeError(f'"{self.name}" is a {self.data_type} point, not a uint')
        return self.ratio, self.addition

    def _bounds(self) -> tuple[int, int]:
        if self.minimum is None or self.maximum is None:
            raise WrongPointTypeError(f'"{self.name}" is a {self.data_type} point, not a uint')
        return self.minimum, self.maximum


@dataclass(frozen=True, slots=True)
class ProductModel:
    """A validated product definition; ``points`` are in id order."""

    name: str
    product_key: str
    packet_version: int
    protocol_type: ProtocolType
    points: tuple[DataPoint, ...]
    _by_name: Mapping[str, DataPoint] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name = MappingProxyType({p.name: p for p in self.points})
        object.__setattr__(self, "_by_name", by_name)

    @property
    def variable_length(self) -> bool:
        """Packets use the variable-length layout (actions 0x11-0x14)."""
        return self.protocol_type is ProtocolType.VAR_LEN

    @property
    def writable(self) -> tuple[DataPoint, ...]:
        """Writable points in id order (their index is their control flag bit)."""
        return tuple(p for p in self.points if p.writable)

    def point(self, name: str) -> DataPoint:
        """The point called ``name``; UnknownDataPointError (a KeyError) if there is none."""
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownDataPointError(name) from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    @classmethod
    def from_json(cls, data: str | bytes | Mapping[str, object]) -> Self:
        """Parse and validate a console export (JSON text or already-parsed mapping).

        Raises ProductDefinitionError naming the first defect (product_import.py).
        """
        from .product_import import parse_product  # noqa: PLC0415 - it builds this class

        return cls(**parse_product(data))
