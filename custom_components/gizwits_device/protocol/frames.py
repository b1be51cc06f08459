"""Gizwits device <-> cloud frame codec (protocol.md §3, §4, §6).

Wire layout (protocol.md §3)::

    long form:  00 00 00 03 | varint length | flag 0x00 | command (BE u16) | body
    short form: 00 00 00 03 | command (BE u16) | body

Telling the forms apart: a long-form length counts flag + command + body, so it is >= 3. Its
first varint byte is therefore 3..127 (one-byte varint) or has the continuation bit set (>= 0x80;
non-minimal encodings of small values such as ``80 00`` also start >= 0x80). A fifth byte of
0x00, 0x01 or 0x02 can thus never start a long form and is read as the high byte of a short-form
command; every known command's high byte is 0x00 or 0x02.

Varint (MQTT "remaining length"): at most 4 bytes; the fourth byte must not carry a continuation
bit. Over-long (non-minimal) encodings are rejected: MQTT 5.0 §1.5.5 requires the minimum number
of bytes, MQTT 3.1/3.1.1 only ever produce the minimal form, and rejecting them keeps every
accepted long-form frame byte-identical to its re-encoding.

A frame ends where its command's last field ends (protocol.md §3). For the passthrough
commands that field is the payload, so it runs to the end of the message. One exception, for
what the cloud really sends: the short-form cloud -> device frames (0x020E, 0x0210, 0x0211) may
carry bytes after their last field, which are ignored. GAgent reads those frames at fixed
offsets (the command at bytes 4-5, 0x0211's firmware type at byte 6, 0x0210's count at bytes
6-7; 0x020E is not read at all) and never looks at the rest, and real 0x0211 pushes carry a
u16 length and a 22-character id after the firmware type (protocol.md §3). A long form stays
strict: its length must match the message and its fields must fill that length exactly.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar, Self

from .errors import GizwitsError

__all__ = [
    "HEADER",
    "MAX_CONTENT",
    "MAX_PAYLOAD",
    "MAX_SOURCE",
    "MAX_TAG",
    "MAX_URL",
    "AckedPassthrough",
    "AppPassthrough",
    "Command",
    "DeviceLog",
    "DevicePassthrough",
    "FieldError",
    "FirmwareType",
    "Frame",
    "FrameError",
    "HeaderError",
    "LengthError",
    "LogLevel",
    "LogLevelConfirm",
    "OnlineAppCount",
    "OnlineAppsRequest",
    "OtaCheckNotification",
    "OtaNotification",
    "PassthroughAck",
    "SetLogLevel",
    "TruncatedError",
    "UnknownCommandError",
    "decode_frame",
    "encode_frame",
]

HEADER = b"\x00\x00\x00\x03"
MAX_PAYLOAD = 65535
MAX_URL = 512
MAX_TAG = 256
MAX_SOURCE = 32
MAX_CONTENT = 65535

_HEADER_LEN = 4
_MAX_VARINT_BYTES = 4
_FLAG = 0


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


# Commands whose seed table shows no length and no flag (protocol.md §3 ruling).
_SHORT_FORM_COMMANDS = frozenset(
    {
        Command.OTA_NOTIFICATION,
        Command.OTA_CHECK_NOTIFICATION,
        Command.ONLINE_APPS_REQUEST,
        Command.ONLINE_APP_COUNT,
    }
)


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


# Short-form frames whose trailing bytes after the last field are ignored (module docstring).
_TRAILING_IGNORED = frozenset(
    {Command.OTA_NOTIFICATION, Command.OTA_CHECK_NOTIFICATION, Command.ONLINE_APP_COUNT}
)


# --- validation helpers ----------------------------------------------------------------------


def _check_uint(name: str, value: int, bits: int) -> None:
    if not isinstance(value, int) or value < 0 or value >> bits:
        raise FieldError(f"{name} must be an unsigned {bits}-bit integer, got {value!r}")


def _check_payload(payload: bytes) -> None:
    if not isinstance(payload, bytes):
        raise FieldError(f"payload must be bytes, got {type(payload).__name__}")
    if len(payload) > MAX_PAYLOAD:
        raise FieldError(f"payload is {len(payload)} bytes, limit {MAX_PAYLOAD}")


def _utf8_encode(name: str, value: str) -> bytes:
    if not isinstance(value, str):
        raise FieldError(f"{name} must be str, got {type(value).__name__}")
    try:
        return value.encode()
    except UnicodeEncodeError as err:  # lone surrogates
        raise FieldError(f"{name} is not encodable as UTF-8") from err


def _truncate_utf8(name: str, value: str, limit: int) -> str:
    raw = _utf8_encode(name, value)
    if len(raw) <= limit:
        return value
    # The cut can only leave an incomplete final character (raw is valid UTF-8); "ignore"
    # drops exactly that partial sequence, so no character is ever split.
    return raw[:limit].decode(errors="ignore")


def _enum[E: IntEnum](enum_cls: type[E], name: str, value: int) -> E:
    try:
        return enum_cls(value)
    except ValueError as err:
        raise FieldError(f"{name} {value!r} is not a valid {enum_cls.__name__}") from err


# --- decoding helpers --------------------------------------------------------------------------


def _need(data: bytes, pos: int, size: int, what: str) -> int:
    end = pos + size
    if end > len(data):
        raise TruncatedError(f"data ends inside {what}")
    return end


def _u16(data: bytes, pos: int, what: str) -> int:
    end = _need(data, pos, 2, what)
    return int.from_bytes(data[pos:end])


def _utf8_decode(data: bytes, pos: int, end: int, what: str) -> str:
    try:
        return data[pos:end].decode()
    except UnicodeDecodeError as err:
        raise FieldError(f"{what} is not valid UTF-8") from err


# --- frames ------------------------------------------------------------------------------------


class _PayloadOnly:
    """Shared codec of the two frames whose body is just the payload (0x0090, 0x0091)."""

    __slots__ = ()
    payload: bytes

    def __post_init__(self) -> None:
        _check_payload(self.payload)

    def _body(self) -> tuple[bytes, ...]:
        return (self.payload,)

    @classmethod
    def _decode(cls, data: bytes, pos: int) -> tuple[Self, int]:
        _check_payload_len(len(data) - pos)
        return cls(data[pos:]), len(data)  # type: ignore[call-arg]  # subclasses are dataclasses


@dataclass(frozen=True, slots=True)
class AppPassthrough(_PayloadOnly):
    """0x0090 app -> device: product-specific payload."""

    command: ClassVar[Command] = Command.APP_PASSTHROUGH
    payload: bytes


@dataclass(frozen=True, slots=True)
class DevicePassthrough(_PayloadOnly):
    """0x0091 device -> app(s): product-specific payload."""

    command: ClassVar[Command] = Command.DEVICE_PASSTHROUGH
    payload: bytes


class _SnAndPayload:
    """Shared codec of the two frames whose body is sn (u32) + payload (0x0093, 0x0094)."""

    __slots__ = ()
    sn: int
    payload: bytes

    def __post_init__(self) -> None:
        _check_uint("sn", self.sn, 32)
        _check_payload(self.payload)

    def _body(self) -> tuple[bytes, ...]:
        return (self.sn.to_bytes(4), self.payload)

    @classmethod
    def _decode(cls, data: bytes, pos: int) -> tuple[Self, int]:
        end = _need(data, pos, 4, "sn")
        _check_payload_len(len(data) - end)
        return cls(int.from_bytes(data[pos:end]), data[end:]), len(data)  # type: ignore[call-arg]


@dataclass(frozen=True, slots=True)
class AckedPassthrough(_SnAndPayload):
    """0x0093 either direction: sn (u32) + payload; the receiver acks with 0x0094."""

    command: ClassVar[Command] = Command.ACKED_PASSTHROUGH
    sn: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class PassthroughAck(_SnAndPayload):
    """0x0094 either direction: sn of the acked 0x0093 + optional payload."""

    command: ClassVar[Command] = Command.PASSTHROUGH_ACK
    sn: int
    payload: bytes = b""


@dataclass(frozen=True, slots=True)
class SetLogLevel:
    """0x0010 app -> device: 16-bit setting (bits 8-15 byte first, i.e. big-endian)."""

    command: ClassVar[Command] = Command.SET_LOG_LEVEL
    value: int

    def __post_init__(self) -> None:
        _check_uint("value", self.value, 16)

    def _body(self) -> tuple[bytes, ...]:
        return (self.value.to_bytes(2),)

    @classmethod
    def _decode(cls, data: bytes, pos: int) -> tuple[Self, int]:
        return cls(_u16(data, pos, "log level value")), pos + 2


class _EmptyBody:
    """Shared codec of the frames without a body (0x0011, 0x020F)."""

    __slots__ = ()

    def _body(self) -> tuple[bytes, ...]:
        return ()

    @classmethod
    def _decode(cls, data: bytes, pos: int) -> tuple[Self, int]:
        return cls(), pos


@dataclass(frozen=True, slots=True)
class LogLevelConfirm(_EmptyBody):
    """0x0011 device -> app: confirms a 0x0010; empty body."""

    command: ClassVar[Command] = Command.LOG_LEVEL_CONFIRM


@dataclass(frozen=True, slots=True)
class DeviceLog:
    """0x0012 device -> apps + cloud.

    Over-long tag/source/content are truncated at a UTF-8 character boundary on construction
    (protocol.md §4), so every instance is sendable; decoding an over-long field is an error.
    """

    command: ClassVar[Command] = Command.DEVICE_LOG
    level: LogLevel
    tag: str
    source: str
    content: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "level", _enum(LogLevel, "level", self.level))
        object.__setattr__(self, "tag", _truncate_utf8("tag", self.tag, MAX_TAG))
        object.__setattr__(self, "source", _truncate_utf8("source", self.source, MAX_SOURCE))
        object.__setattr__(self, "content", _truncate_utf8("content", self.content, MAX_CONTENT))

    def _body(self) -> tuple[bytes, ...]:
        tag = self.tag.encode()
        source = self.source.encode()
        content = self.content.encode()
        return (
            self.level.to_bytes(1),
            len(tag).to_bytes(2),
            tag,
            len(source).to_bytes(2),
            source,
            len(content).to_bytes(2),
            content,
        )

    @classmethod
    def _decode(cls, data: bytes, pos: int) -> tuple[Self, int]:
        _need(data, pos, 1, "log level")
        level = _enum(LogLevel, "level", data[pos])
        pos += 1
        strings: list[str] = []
        for what, limit in (("tag", MAX_TAG), ("source", MAX_SOURCE), ("content", MAX_CONTENT)):
            size = _u16(data, pos, f"{what} length")
            if size > limit:
                raise FieldError(f"{what} length {size} over the limit {limit}")
            pos += 2
            end = _need(data, pos, size, what)
            strings.append(_utf8_decode(data, pos, end, what))
            pos = end
        return cls(level, strings[0], strings[1], strings[2]), pos


@dataclass(frozen=True, slots=True)
class OtaNotification:
    """0x020E cloud -> device: v4.0 OTA notice (firmware type, target fid, download URL)."""

    command: ClassVar[Command] = Command.OTA_NOTIFICATION
    firmware_type: FirmwareType
    target_fid: int
    url: str

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "firmware_type", _enum(FirmwareType, "firmware type", self.firmware_type)
        )
        _check_uint("target_fid", self.target_fid, 32)
        size = len(_utf8_encode("url", self.url))
        if size > MAX_URL:
            raise FieldError(f"url is {size} bytes, limit {MAX_URL}")

    def _body(self) -> tuple[bytes, ...]:
        url = self.url.encode()
        return (
            self.firmware_type.to_bytes(1),
            self.target_fid.to_bytes(4),
            len(url).to_bytes(2),
            url,
        )

    @classmethod
    def _decode(cls, data: bytes, pos: int) -> tuple[Self, int]:
        _need(data, pos, 1, "firmware type")
        fw_type = _enum(FirmwareType, "firmware type", data[pos])
        end = _need(data, pos + 1, 4, "target fid")
        target_fid = int.from_bytes(data[pos + 1 : end])
        size = _u16(data, end, "url length")
        if size > MAX_URL:
            raise FieldError(f"url length {size} over the limit {MAX_URL}")
        pos = end + 2
        end = _need(data, pos, size, "url")
        url = _utf8_decode(data, pos, end, "url")
        return cls(fw_type, target_fid, url), end


@dataclass(frozen=True, slots=True)
class OtaCheckNotification:
    """0x0211 cloud -> device: run the v4.1 OTA check for this firmware type."""

    command: ClassVar[Command] = Command.OTA_CHECK_NOTIFICATION
    firmware_type: FirmwareType

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "firmware_type", _enum(FirmwareType, "firmware type", self.firmware_type)
        )

    def _body(self) -> tuple[bytes, ...]:
        return (self.firmware_type.to_bytes(1),)

    @classmethod
    def _decode(cls, data: bytes, pos: int) -> tuple[Self, int]:
        _need(data, pos, 1, "firmware type")
        return cls(_enum(FirmwareType, "firmware type", data[pos])), pos + 1


@dataclass(frozen=True, slots=True)
class OnlineAppsRequest(_EmptyBody):
    """0x020F device -> cloud: ask for the online app count; empty body."""

    command: ClassVar[Command] = Command.ONLINE_APPS_REQUEST


@dataclass(frozen=True, slots=True)
class OnlineAppCount:
    """0x0210 cloud -> device: number of online bound apps (u16)."""

    command: ClassVar[Command] = Command.ONLINE_APP_COUNT
    count: int

    def __post_init__(self) -> None:
        _check_uint("count", self.count, 16)

    def _body(self) -> tuple[bytes, ...]:
        return (self.count.to_bytes(2),)

    @classmethod
    def _decode(cls, data: bytes, pos: int) -> tuple[Self, int]:
        return cls(_u16(data, pos, "online app count")), pos + 2


type Frame = (
    AppPassthrough
    | DevicePassthrough
    | AckedPassthrough
    | PassthroughAck
    | SetLogLevel
    | LogLevelConfirm
    | DeviceLog
    | OtaNotification
    | OtaCheckNotification
    | OnlineAppsRequest
    | OnlineAppCount
)


def _check_payload_len(size: int) -> None:
    if size > MAX_PAYLOAD:
        raise FieldError(f"payload is {size} bytes, limit {MAX_PAYLOAD}")


# Each decoder returns the frame and the position after its last field.
_DECODERS: dict[int, Callable[[bytes, int], tuple[Frame, int]]] = {
    cls.command: cls._decode
    for cls in (
        AppPassthrough,
        DevicePassthrough,
        AckedPassthrough,
        PassthroughAck,
        SetLogLevel,
        LogLevelConfirm,
        DeviceLog,
        OtaNotification,
        OtaCheckNotification,
        OnlineAppsRequest,
        OnlineAppCount,
    )
}

_COMMAND_BYTES = {cmd: cmd.to_bytes(2) for cmd in Command}
_ONE_BYTE_VARINTS = [bytes((n,)) for n in range(128)]


def _encode_varint(value: int) -> bytes:
    if value < 128:
        return _ONE_BYTE_VARINTS[value]
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _decode_varint(data: bytes) -> tuple[int, int]:
    """Return (value, position after the varint) for a varint starting after the header."""
    value = 0
    shift = 0
    pos = _HEADER_LEN
    size = len(data)
    for _ in range(_MAX_VARINT_BYTES):
        if pos >= size:
            raise TruncatedError("data ends inside the length field")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if byte == 0 and shift:
                raise LengthError("length field is not minimally encoded")
            return value, pos
        shift += 7
    raise LengthError("length field is longer than 4 bytes")


def decode_frame(data: bytes) -> Frame:
    """Decode one MQTT message payload; raise a FrameError subclass on any bad input."""
    if type(data) is not bytes:  # bytearray / memoryview: frames must hold immutable bytes
        data = bytes(data)
    if data[:_HEADER_LEN] != HEADER:
        if HEADER.startswith(data):
            raise TruncatedError("data ends inside the header")
        raise HeaderError(f"bad header {data[:_HEADER_LEN].hex(' ')}")
    if len(data) == _HEADER_LEN:
        raise TruncatedError("data ends after the header")
    short_form = data[_HEADER_LEN] <= 2  # see the module docstring
    if short_form:
        pos = _HEADER_LEN
    else:
        length, pos = _decode_varint(data)
        if len(data) - pos != length:
            raise LengthError(f"length field says {length}, {len(data) - pos} byte(s) follow")
        if data[pos] != _FLAG:
            raise FieldError(f"flag is 0x{data[pos]:02x}, expected 0x00")
        # A minimal varint whose first byte is >= 3 encodes a length >= 3, so the flag and
        # command are present.
        pos += 1
    end = _need(data, pos, 2, "the command")
    code = int.from_bytes(data[pos:end])
    decoder = _DECODERS.get(code)
    if decoder is None:
        raise UnknownCommandError(f"unknown command 0x{code:04x}")
    frame, end = decoder(data, end)
    if end != len(data) and not (short_form and code in _TRAILING_IGNORED):
        raise LengthError(f"{len(data) - end} trailing byte(s) after the last field")
    return frame


def encode_frame(frame: Frame, *, short_form: bool | None = None) -> bytes:
    """Encode a frame; short_form=None picks the form protocol.md §3 rules for its command."""
    command = frame.command
    body = frame._body()
    if short_form is None:
        short_form = command in _SHORT_FORM_COMMANDS
    if short_form:
        return b"".join((HEADER, _COMMAND_BYTES[command], *body))
    length = 3 + sum(map(len, body))
    return b"".join((HEADER, _encode_varint(length), b"\x00", _COMMAND_BYTES[command], *body))
