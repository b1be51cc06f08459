"""Gizwits "P0" messages: what the data-point payloads say, and the P0 errors (protocol.md §5).

p0.py turns these into bytes and back for one product. Values are shown values: bool, enum
option string, int/float (see DataPoint.to_shown), bytes.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from types import MappingProxyType

from .errors import GizwitsError

__all__ = [
    "Control",
    "Direction",
    "P0Action",
    "P0ActionMismatchError",
    "P0Error",
    "P0FlagError",
    "P0LengthError",
    "P0Message",
    "P0MissingValueError",
    "P0PointError",
    "P0ReadOnlyError",
    "P0TruncatedError",
    "P0UnknownActionError",
    "P0UnknownPointError",
    "P0ValueError",
    "ReadReply",
    "ReadRequest",
    "StatusReport",
    "TransparentData",
    "Value",
]

type Value = bool | int | float | str | bytes


class P0Action(IntEnum):
    """First byte of a P0 payload (MCU SDK ``actionType_t``)."""

    CONTROL = 0x01
    READ = 0x02
    READ_REPLY = 0x03
    REPORT = 0x04
    TRANSPARENT_TO_DEVICE = 0x05
    TRANSPARENT_TO_APP = 0x06
    VARLEN_CONTROL = 0x11
    VARLEN_READ = 0x12
    VARLEN_READ_REPLY = 0x13
    VARLEN_REPORT = 0x14


class Direction(StrEnum):
    """Direction of transparent (opaque) data."""

    APP_TO_DEVICE = "app_to_device"
    DEVICE_TO_APP = "device_to_app"


# --- errors -----------------------------------------------------------------------------------


class P0Error(GizwitsError, ValueError):
    """A P0 payload (or a message to encode) does not fit the product."""


class P0UnknownActionError(P0Error):
    """The action byte is not a P0 action."""

    def __init__(self, action: int) -> None:
        super().__init__(f"unknown P0 action 0x{action:02x}")
        self.action = action


class P0ActionMismatchError(P0Error):
    """A fixed-length action for a var_len product, or the other way round."""


class P0LengthError(P0Error):
    """The payload length disagrees with the product layout."""


class P0TruncatedError(P0LengthError):
    """The payload ends before the layout does."""


class P0FlagError(P0Error):
    """A flag bit is set for a point the product does not have."""


class P0PointError(P0Error):
    """A problem with one named data point."""

    def __init__(self, point: str, message: str) -> None:
        super().__init__(f'"{point}": {message}')
        self.point = point


class P0ValueError(P0PointError):
    """A value is of the wrong type or out of the point's range."""


class P0ReadOnlyError(P0PointError):
    """A control names a point that is not writable."""


class P0UnknownPointError(P0PointError):
    """A message names a point the product does not define."""


class P0MissingValueError(P0PointError):
    """A fixed-length status lacks a value for a point."""


# --- messages ---------------------------------------------------------------------------------


def _frozen(values: Mapping[str, Value]) -> Mapping[str, Value]:
    return MappingProxyType(dict(values))


class _Values:
    """Shared by the messages that carry point values: the mapping is copied and frozen."""

    __slots__ = ()
    values: Mapping[str, Value]

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", _frozen(self.values))


@dataclass(frozen=True, slots=True)
class Control(_Values):
    """App -> device: set the given writable points (0x01 / 0x11)."""

    values: Mapping[str, Value]


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """App -> device: report status (0x02 / 0x12). ``names`` only for var_len; None = all."""

    names: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ReadReply(_Values):
    """Device -> app: answer to a ReadRequest (0x03 / 0x13)."""

    values: Mapping[str, Value]


@dataclass(frozen=True, slots=True)
class StatusReport(_Values):
    """Device -> app: unsolicited status (0x04 / 0x14)."""

    values: Mapping[str, Value]


@dataclass(frozen=True, slots=True)
class TransparentData:
    """Opaque bytes (0x05 app -> device, 0x06 device -> app)."""

    direction: Direction
    data: bytes


type P0Message = Control | ReadRequest | ReadReply | StatusReport | TransparentData
