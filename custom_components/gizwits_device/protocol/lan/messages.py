"""LAN message bodies: discovery, passcode, login, module info, heartbeat.

Layouts follow Gizwits GAgent's `gagent/lan/` (lan.c, lantcp.c, lanudp.c). Every message is a
frozen dataclass with a `command`, `_body()` for encoding and `_decode(body)` for decoding; the
passthrough commands (0x0090/0x0091/0x0093/0x0094) reuse the cloud frame classes unchanged.

Requests that carry nothing (0x0003, 0x0006, 0x0013, 0x0015) ignore any body they arrive with:
GAgent never reads one, and apps in the field are not consistent about sending none.
"""

from dataclasses import dataclass, field
from enum import IntEnum
from typing import ClassVar, Self

from ..frame_fields import FieldError, LengthError, TruncatedError

DEFAULT_API_SERVER = "api.gizwits.com:80"
DEFAULT_GAGENT_VERSION = "4.0.8"
MCU_ATTRIBUTES_LEN = 8
MAC_LEN = 6
_VERSION_LEN = 8
_U16_MAX = 0xFFFF


def check_mac(mac: object) -> None:
    """Raise FieldError unless `mac` is a device MAC: 6 raw bytes."""
    if not isinstance(mac, bytes) or len(mac) != MAC_LEN:
        raise FieldError(f"mac must be {MAC_LEN} raw bytes, got {mac!r}")


class LanCommand(IntEnum):
    """LAN command codes (besides the passthrough ones shared with the cloud)."""

    DISCOVERY_REQUEST = 0x0003
    DISCOVERY_REPLY = 0x0004
    STARTUP_BROADCAST = 0x0005
    PASSCODE_REQUEST = 0x0006
    PASSCODE_REPLY = 0x0007
    LOGIN_REQUEST = 0x0008
    LOGIN_REPLY = 0x0009
    MODULE_INFO_REQUEST = 0x0013
    MODULE_INFO = 0x0014
    HEARTBEAT = 0x0015
    HEARTBEAT_REPLY = 0x0016


# --- field helpers -----------------------------------------------------------------------------


def _ascii(name: str, value: str) -> bytes:
    if not isinstance(value, str):
        raise FieldError(f"{name} must be str, got {type(value).__name__}")
    try:
        return value.encode("ascii")
    except UnicodeEncodeError as err:
        raise FieldError(f"{name} must be ASCII") from err


def _prefixed(name: str, raw: bytes) -> bytes:
    if len(raw) > _U16_MAX:
        raise FieldError(f"{name} is {len(raw)} bytes, limit {_U16_MAX}")
    return len(raw).to_bytes(2) + raw


class _Reader:
    """Cursor over a body; every read checks bounds and raises a typed FrameError."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, size: int, what: str) -> bytes:
        end = self.pos + size
        if end > len(self.data):
            raise TruncatedError(f"body ends inside {what}")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def prefixed(self, what: str) -> bytes:
        return self.take(int.from_bytes(self.take(2, f"{what} length")), what)

    def ascii(self, what: str, raw: bytes) -> str:
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError as err:
            raise FieldError(f"{what} is not ASCII") from err

    def nul_terminated(self, what: str) -> str:
        end = self.data.find(b"\x00", self.pos)
        if end < 0:
            raise TruncatedError(f"{what} has no NUL terminator")
        raw = self.data[self.pos : end]
        self.pos = end + 1
        return self.ascii(what, raw)

    def rest_as_string(self, what: str) -> str:
        """The last string of a body: up to a NUL, or to the end when it has none."""
        end = self.data.find(b"\x00", self.pos)
        raw = self.data[self.pos : end if end >= 0 else len(self.data)]
        self.pos = end + 1 if end >= 0 else len(self.data)
        return self.ascii(what, raw)

    @property
    def at_end(self) -> bool:
        return self.pos == len(self.data)

    def finish(self) -> None:
        if not self.at_end:
            raise LengthError(f"{len(self.data) - self.pos} trailing byte(s) after the last field")


class _NoBody:
    """A request that carries nothing (any body it arrives with is ignored, see above)."""

    __slots__ = ()

    def _body(self) -> bytes:
        return b""

    @classmethod
    def _decode(cls, body: bytes) -> Self:
        return cls()


class _EmptyReply(_NoBody):
    """A reply without a body; a body is an error (we never expect one)."""

    __slots__ = ()

    @classmethod
    def _decode(cls, body: bytes) -> Self:
        _Reader(body).finish()
        return cls()


# --- discovery ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DiscoveryRequest(_NoBody):
    """0x0003 app -> device (UDP, usually broadcast to port 12414)."""

    command: ClassVar[int] = LanCommand.DISCOVERY_REQUEST


@dataclass(frozen=True, slots=True)
class DeviceAnnouncement:
    """The body of 0x0004 (discovery reply) and 0x0005 (startup broadcast).

    `api_server` and `gagent_version` are NUL-terminated strings after the MCU attributes.
    Always sent; old GAgent releases omit both, so a body ending after the attributes decodes
    with both empty. Current firmware (protocol.md §8) fills `wifi_firmware_version` with the
    8-character WiFi soft version and appends a third string, `mcu_soft_version`; it is sent
    when set, and read with or without its terminating NUL.
    """

    did: str
    mac: bytes
    product_key: str
    wifi_firmware_version: str = ""
    mcu_attributes: bytes = bytes(MCU_ATTRIBUTES_LEN)
    api_server: str = DEFAULT_API_SERVER
    gagent_version: str = DEFAULT_GAGENT_VERSION
    mcu_soft_version: str = ""

    def __post_init__(self) -> None:
        check_mac(self.mac)
        if not isinstance(self.mcu_attributes, bytes) or len(self.mcu_attributes) != 8:
            raise FieldError(f"mcu_attributes must be 8 bytes, got {self.mcu_attributes!r}")
        for name in ("did", "product_key", "wifi_firmware_version"):
            _prefixed(name, _ascii(name, getattr(self, name)))
        for name in ("api_server", "gagent_version", "mcu_soft_version"):
            if b"\x00" in _ascii(name, getattr(self, name)):
                raise FieldError(f"{name} must not contain NUL")

    def to_body(self) -> bytes:
        """The wire body shared by 0x0004 and 0x0005."""
        return b"".join(
            (
                _prefixed("did", self.did.encode()),
                _prefixed("mac", self.mac),
                _prefixed("wifi_firmware_version", self.wifi_firmware_version.encode()),
                _prefixed("product_key", self.product_key.encode()),
                self.mcu_attributes,
                self.api_server.encode() + b"\x00",
                self.gagent_version.encode() + b"\x00",
                self.mcu_soft_version.encode() + b"\x00" if self.mcu_soft_version else b"",
            )
        )

    @classmethod
    def from_body(cls, body: bytes) -> DeviceAnnouncement:
        """Parse a 0x0004/0x0005 body; raise a FrameError subclass if it is malformed."""
        reader = _Reader(body)
        did = reader.ascii("did", reader.prefixed("did"))
        mac = reader.prefixed("mac")
        if len(mac) != MAC_LEN:
            raise FieldError(f"mac is {len(mac)} bytes, expected {MAC_LEN}")
        firmware = reader.ascii("wifi firmware version", reader.prefixed("wifi firmware"))
        product_key = reader.ascii("product key", reader.prefixed("product key"))
        attributes = reader.take(MCU_ATTRIBUTES_LEN, "mcu attributes")
        api_server = gagent_version = mcu_soft_version = ""
        if not reader.at_end:
            api_server = reader.nul_terminated("api server")
            gagent_version = reader.nul_terminated("gagent version")
        if not reader.at_end:
            mcu_soft_version = reader.rest_as_string("mcu soft version")
        reader.finish()
        return cls(
            did,
            mac,
            product_key,
            firmware,
            attributes,
            api_server,
            gagent_version,
            mcu_soft_version,
        )


class _Announcing:
    __slots__ = ()
    announcement: DeviceAnnouncement

    def _body(self) -> bytes:
        return self.announcement.to_body()

    @classmethod
    def _decode(cls, body: bytes) -> Self:
        return cls(DeviceAnnouncement.from_body(body))  # type: ignore[call-arg]  # dataclasses


@dataclass(frozen=True, slots=True)
class DiscoveryReply(_Announcing):
    """0x0004 device -> app: unicast answer to a 0x0003."""

    command: ClassVar[int] = LanCommand.DISCOVERY_REPLY
    announcement: DeviceAnnouncement


@dataclass(frozen=True, slots=True)
class StartupBroadcast(_Announcing):
    """0x0005 device -> broadcast port 2415 after start-up."""

    command: ClassVar[int] = LanCommand.STARTUP_BROADCAST
    announcement: DeviceAnnouncement


# --- passcode and login ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PasscodeRequest(_NoBody):
    """0x0006 app -> device: ask for the passcode (answered only in the binding window)."""

    command: ClassVar[int] = LanCommand.PASSCODE_REQUEST


class _PasscodeBody:
    __slots__ = ()
    passcode: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.passcode, bytes):
            raise FieldError(f"passcode must be bytes, got {type(self.passcode).__name__}")
        _prefixed("passcode", self.passcode)

    def _body(self) -> bytes:
        return _prefixed("passcode", self.passcode)

    @classmethod
    def _decode(cls, body: bytes) -> Self:
        reader = _Reader(body)
        passcode = reader.prefixed("passcode")
        reader.finish()
        return cls(passcode)  # type: ignore[call-arg]  # subclasses are dataclasses


@dataclass(frozen=True, slots=True)
class PasscodeReply(_PasscodeBody):
    """0x0007 device -> app: u16 length + passcode; an empty passcode means "not now"."""

    command: ClassVar[int] = LanCommand.PASSCODE_REPLY
    passcode: bytes = b""


@dataclass(frozen=True, slots=True)
class LoginRequest(_PasscodeBody):
    """0x0008 app -> device: u16 length + passcode."""

    command: ClassVar[int] = LanCommand.LOGIN_REQUEST
    passcode: bytes


@dataclass(frozen=True, slots=True)
class LoginReply:
    """0x0009 device -> app: one result byte, 00 accepted, 01 refused."""

    command: ClassVar[int] = LanCommand.LOGIN_REPLY
    accepted: bool

    def _body(self) -> bytes:
        return b"\x00" if self.accepted else b"\x01"

    @classmethod
    def _decode(cls, body: bytes) -> Self:
        reader = _Reader(body)
        result = reader.take(1, "login result")[0]
        reader.finish()
        if result > 1:
            raise FieldError(f"login result 0x{result:02x} is neither 00 nor 01")
        return cls(result == 0)


# --- module info and heartbeat -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModuleInfoRequest(_NoBody):
    """0x0013 app -> device."""

    command: ClassVar[int] = LanCommand.MODULE_INFO_REQUEST


@dataclass(frozen=True, slots=True)
class ModuleInfo:
    """0x0014 device -> app: five 8-character versions, 8 zero bytes, firmware, product key."""

    command: ClassVar[int] = LanCommand.MODULE_INFO
    product_key: str
    wifi_hard_version: str = "00000000"
    wifi_soft_version: str = "00000000"
    mcu_hard_version: str = "00000000"
    mcu_soft_version: str = "00000000"
    p0_version: str = "00000004"
    firmware_version: str = ""
    reserved: bytes = field(default=bytes(8))

    _VERSIONS: ClassVar[tuple[str, ...]] = (
        "wifi_hard_version",
        "wifi_soft_version",
        "mcu_hard_version",
        "mcu_soft_version",
        "p0_version",
    )

    def __post_init__(self) -> None:
        for name in self._VERSIONS:
            if len(_ascii(name, getattr(self, name))) != _VERSION_LEN:
                raise FieldError(f"{name} must be {_VERSION_LEN} ASCII characters")
        if not isinstance(self.reserved, bytes) or len(self.reserved) != 8:
            raise FieldError("reserved must be 8 bytes")
        _prefixed("firmware_version", _ascii("firmware_version", self.firmware_version))
        _prefixed("product_key", _ascii("product_key", self.product_key))

    def _body(self) -> bytes:
        versions = b"".join(getattr(self, name).encode() for name in self._VERSIONS)
        return b"".join(
            (
                versions,
                self.reserved,
                _prefixed("firmware_version", self.firmware_version.encode()),
                _prefixed("product_key", self.product_key.encode()),
            )
        )

    @classmethod
    def _decode(cls, body: bytes) -> Self:
        reader = _Reader(body)
        wifi_hard, wifi_soft, mcu_hard, mcu_soft, p0_version = (
            reader.ascii(name, reader.take(_VERSION_LEN, name)) for name in cls._VERSIONS
        )
        reserved = reader.take(8, "reserved bytes")
        firmware = reader.ascii("firmware version", reader.prefixed("firmware version"))
        product_key = reader.ascii("product key", reader.prefixed("product key"))
        reader.finish()
        return cls(
            product_key, wifi_hard, wifi_soft, mcu_hard, mcu_soft, p0_version, firmware, reserved
        )


@dataclass(frozen=True, slots=True)
class Heartbeat(_NoBody):
    """0x0015 app -> device (apps send one every 4 s)."""

    command: ClassVar[int] = LanCommand.HEARTBEAT


@dataclass(frozen=True, slots=True)
class HeartbeatReply(_EmptyReply):
    """0x0016 device -> app."""

    command: ClassVar[int] = LanCommand.HEARTBEAT_REPLY
