"""Gizwits device <-> cloud frames: one typed class per command (protocol.md §4).

Each class checks its fields on construction (so every instance is sendable), writes its body
(`_body`) and reads it back (`_decode`, returning the position after its last field);
frame_codec.py adds the header, length and command around them.
"""

from dataclasses import dataclass
from typing import ClassVar, Self

from .frame_fields import (
    MAX_CONTENT,
    MAX_SOURCE,
    MAX_TAG,
    MAX_URL,
    Command,
    FieldError,
    FirmwareType,
    LogLevel,
    check_payload,
    check_payload_len,
    check_uint,
    enum_value,
    need,
    read_text,
    read_u16,
    text_bytes,
    truncate_utf8,
    utf8_encode,
)

__all__ = [
    "FRAME_TYPES",
    "AckedPassthrough",
    "AppPassthrough",
    "DeviceLog",
    "DevicePassthrough",
    "Frame",
    "LogLevelConfirm",
    "OnlineAppCount",
    "OnlineAppsRequest",
    "OtaCheckNotification",
    "OtaNotification",
    "PassthroughAck",
    "SetLogLevel",
]


# --- frames ------------------------------------------------------------------------------------


class _PayloadOnly:
    """Shared codec of the two frames whose body is just the payload (0x0090, 0x0091)."""

    __slots__ = ()
    payload: bytes

    def __post_init__(self) -> None:
        check_payload(self.payload)

    def _body(self) -> tuple[bytes, ...]:
        return (self.payload,)

    @classmethod
    def _decode(cls, data: bytes, pos: int) -> tuple[Self, int]:
        check_payload_len(len(data) - pos)
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
        check_uint("sn", self.sn, 32)
        check_payload(self.payload)

    def _body(self) -> tuple[bytes, ...]:
        return (self.sn.to_bytes(4), self.payload)

    @classmethod
    def _decode(cls, data: bytes, pos: int) -> tuple[Self, int]:
        end = need(data, pos, 4, "sn")
        check_payload_len(len(data) - end)
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


class _U16Body:
    """Shared codec of the frames whose body is one big-endian u16 (0x0010, 0x0210)."""

    __slots__ = ()
    _field: ClassVar[str]  # the name of that u16 in the subclass

    def __post_init__(self) -> None:
        check_uint(self._field, getattr(self, self._field), 16)

    def _body(self) -> tuple[bytes, ...]:
        value: int = getattr(self, self._field)
        return (value.to_bytes(2),)

    @classmethod
    def _decode(cls, data: bytes, pos: int) -> tuple[Self, int]:
        return cls(read_u16(data, pos, cls._field)), pos + 2  # type: ignore[call-arg]


@dataclass(frozen=True, slots=True)
class SetLogLevel(_U16Body):
    """0x0010 app -> device: 16-bit setting (bits 8-15 byte first, i.e. big-endian)."""

    command: ClassVar[Command] = Command.SET_LOG_LEVEL
    _field: ClassVar[str] = "value"
    value: int


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
        object.__setattr__(self, "level", enum_value(LogLevel, "level", self.level))
        object.__setattr__(self, "tag", truncate_utf8("tag", self.tag, MAX_TAG))
        object.__setattr__(self, "source", truncate_utf8("source", self.source, MAX_SOURCE))
        object.__setattr__(self, "content", truncate_utf8("content", self.content, MAX_CONTENT))

    def _body(self) -> tuple[bytes, ...]:
        return (
            self.level.to_bytes(1),
            *text_bytes(self.tag),
            *text_bytes(self.source),
            *text_bytes(self.content),
        )

    @classmethod
    def _decode(cls, data: bytes, pos: int) -> tuple[Self, int]:
        need(data, pos, 1, "log level")
        level = enum_value(LogLevel, "level", data[pos])
        tag, pos = read_text(data, pos + 1, "tag", MAX_TAG)
        source, pos = read_text(data, pos, "source", MAX_SOURCE)
        content, pos = read_text(data, pos, "content", MAX_CONTENT)
        return cls(level, tag, source, content), pos


@dataclass(frozen=True, slots=True)
class OtaNotification:
    """0x020E cloud -> device: v4.0 OTA notice (firmware type, target fid, download URL)."""

    command: ClassVar[Command] = Command.OTA_NOTIFICATION
    firmware_type: FirmwareType
    target_fid: int
    url: str

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "firmware_type", enum_value(FirmwareType, "firmware type", self.firmware_type)
        )
        check_uint("target_fid", self.target_fid, 32)
        size = len(utf8_encode("url", self.url))
        if size > MAX_URL:
            raise FieldError(f"url is {size} bytes, limit {MAX_URL}")

    def _body(self) -> tuple[bytes, ...]:
        return (self.firmware_type.to_bytes(1), self.target_fid.to_bytes(4), *text_bytes(self.url))

    @classmethod
    def _decode(cls, data: bytes, pos: int) -> tuple[Self, int]:
        need(data, pos, 1, "firmware type")
        fw_type = enum_value(FirmwareType, "firmware type", data[pos])
        end = need(data, pos + 1, 4, "target fid")
        target_fid = int.from_bytes(data[pos + 1 : end])
        url, end = read_text(data, end, "url", MAX_URL)
        return cls(fw_type, target_fid, url), end


@dataclass(frozen=True, slots=True)
class OtaCheckNotification:
    """0x0211 cloud -> device: run the v4.1 OTA check for this firmware type."""

    command: ClassVar[Command] = Command.OTA_CHECK_NOTIFICATION
    firmware_type: FirmwareType

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "firmware_type", enum_value(FirmwareType, "firmware type", self.firmware_type)
        )

    def _body(self) -> tuple[bytes, ...]:
        return (self.firmware_type.to_bytes(1),)

    @classmethod
    def _decode(cls, data: bytes, pos: int) -> tuple[Self, int]:
        need(data, pos, 1, "firmware type")
        return cls(enum_value(FirmwareType, "firmware type", data[pos])), pos + 1


@dataclass(frozen=True, slots=True)
class OnlineAppsRequest(_EmptyBody):
    """0x020F device -> cloud: ask for the online app count; empty body."""

    command: ClassVar[Command] = Command.ONLINE_APPS_REQUEST


@dataclass(frozen=True, slots=True)
class OnlineAppCount(_U16Body):
    """0x0210 cloud -> device: number of online bound apps (u16)."""

    command: ClassVar[Command] = Command.ONLINE_APP_COUNT
    _field: ClassVar[str] = "count"
    count: int


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

# Every frame class, for the codec's command table.
FRAME_TYPES: tuple[type[Frame], ...] = (
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
