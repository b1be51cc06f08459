"""Gizwits frame fields: commands, enums, limits, errors and field checks (protocol.md §4).

frames.py builds the frames from these; frame_codec.py reads and writes whole messages.
"""

from enum import IntEnum

from .errors import GizwitsError

__all__ = [
    "MAX_CONTENT",
    "MAX_PAYLOAD",
    "MAX_SOURCE",
    "MAX_TAG",
    "MAX_URL",
    "Command",
    "FieldError",
    "FirmwareType",
    "FrameError",
    "HeaderError",
    "LengthError",
    "LogLevel",
    "TruncatedError",
    "UnknownCommandError",
    "check_payload",
    "check_payload_len",
    "check_uint",
    "enum_value",
    "need",
    "read_text",
    "read_u16",
    "text_bytes",
    "truncate_utf8",
    "utf8_decode",
    "utf8_encode",
]

MAX_PAYLOAD = 65535
MAX_URL = 512
MAX_TAG = 256
MAX_SOURCE = 32
MAX_CONTENT = 65535


class FirmwareType(IntEnum):
    """Firmware type byte of 0x020E / 0x0211."""

    WIFI = 1
    MCU = 2


class LogLevel(IntEnum):
    """Level byte of 0x0012."""

    ERROR = 1
    WARNING = 2
    INFO = 3


class Command(IntEnum):
    """Command codes (protocol.md §4)."""

    APP_PASSTHROUGH = 0x0090
    DEVICE_PASSTHROUGH = 0x0091
    ACKED_PASSTHROUGH = 0x0093
    PASSTHROUGH_ACK = 0x0094
    SET_LOG_LEVEL = 0x0010
    LOG_LEVEL_CONFIRM = 0x0011
    DEVICE_LOG = 0x0012
    OTA_NOTIFICATION = 0x020E
    OTA_CHECK_NOTIFICATION = 0x0211
    ONLINE_APPS_REQUEST = 0x020F
    ONLINE_APP_COUNT = 0x0210


class FrameError(GizwitsError, ValueError):
    """A frame that cannot be decoded or encoded."""


class HeaderError(FrameError):
    """The first four bytes are not 00 00 00 03."""


class LengthError(FrameError):
    """Bad varint, declared length disagreeing with the bytes, or trailing bytes."""


class TruncatedError(FrameError):
    """The data ends inside a field."""


class UnknownCommandError(FrameError):
    """The command code is not one of protocol.md §4."""


class FieldError(FrameError):
    """A field value outside its §4 limit, bad UTF-8, bad enum value or bad flag."""


# --- validation helpers ----------------------------------------------------------------------


def check_uint(name: str, value: int, bits: int) -> None:
    if not isinstance(value, int) or value < 0 or value >> bits:
        raise FieldError(f"{name} must be an unsigned {bits}-bit integer, got {value!r}")


def check_payload(payload: bytes) -> None:
    if not isinstance(payload, bytes):
        raise FieldError(f"payload must be bytes, got {type(payload).__name__}")
    if len(payload) > MAX_PAYLOAD:
        raise FieldError(f"payload is {len(payload)} bytes, limit {MAX_PAYLOAD}")


def utf8_encode(name: str, value: str) -> bytes:
    if not isinstance(value, str):
        raise FieldError(f"{name} must be str, got {type(value).__name__}")
    try:
        return value.encode()
    except UnicodeEncodeError as err:  # lone surrogates
        raise FieldError(f"{name} is not encodable as UTF-8") from err


def truncate_utf8(name: str, value: str, limit: int) -> str:
    raw = utf8_encode(name, value)
    if len(raw) <= limit:
        return value
    # The cut can only leave an incomplete final character (raw is valid UTF-8); "ignore"
    # drops exactly that partial sequence, so no character is ever split.
    return raw[:limit].decode(errors="ignore")


def enum_value[E: IntEnum](enum_cls: type[E], name: str, value: int) -> E:
    try:
        return enum_cls(value)
    except ValueError as err:
        raise FieldError(f"{name} {value!r} is not a valid {enum_cls.__name__}") from err


# --- decoding helpers --------------------------------------------------------------------------


def need(data: bytes, pos: int, size: int, what: str) -> int:
    end = pos + size
    if end > len(data):
        raise TruncatedError(f"data ends inside {what}")
    return end


def read_u16(data: bytes, pos: int, what: str) -> int:
    end = need(data, pos, 2, what)
    return int.from_bytes(data[pos:end])


def utf8_decode(data: bytes, pos: int, end: int, what: str) -> str:
    try:
        return data[pos:end].decode()
    except UnicodeDecodeError as err:
        raise FieldError(f"{what} is not valid UTF-8") from err


def check_payload_len(size: int) -> None:
    if size > MAX_PAYLOAD:
        raise FieldError(f"payload is {size} bytes, limit {MAX_PAYLOAD}")


def read_text(data: bytes, pos: int, what: str, limit: int) -> tuple[str, int]:
    """A u16 length + that many bytes of UTF-8 at ``pos`` (at most ``limit``); text and end."""
    size = read_u16(data, pos, f"{what} length")
    if size > limit:
        raise FieldError(f"{what} length {size} over the limit {limit}")
    end = need(data, pos + 2, size, what)
    return utf8_decode(data, pos + 2, end, what), end


def text_bytes(value: str) -> tuple[bytes, bytes]:
    """The u16 length and the UTF-8 bytes of a text field (checked on construction)."""
    raw = value.encode()
    return len(raw).to_bytes(2), raw
