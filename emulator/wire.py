"""The emulator's own M2M wire format: frames, topics and GService forms.

Written from the Gizwits device protocol v4.0.6 (§3.1 frame layout, §4 command tables) and
GAgent's public sources, deliberately without the integration's codec: the emulator is the
other side of the wire, so a framing or topic mistake in the integration must not be repeated
here. The P0 payloads inside passthrough frames have their own codec too (`emulator.p0`).

Frame forms (seed §3.1; a receiver accepts both, a sender uses the one its command's table shows):
    long   00 00 00 03 | varint length | flag 00 | command (2 B) | body
    short  00 00 00 03 | command (2 B) | body          (0x020E, 0x020F, 0x0210, 0x0211)
Every short-form command starts with byte 0x02, and a long-form length of 2 is impossible (flag +
command alone take 3 bytes), so the byte after the header tells the two forms apart.
"""

from __future__ import annotations

from dataclasses import dataclass
import struct
from typing import Any, ClassVar, dataclass_transform
from urllib.parse import quote

HEADER = b"\x00\x00\x00\x03"
SHORT_FORM_COMMANDS = frozenset({0x020E, 0x020F, 0x0210, 0x0211})
# Cloud → device short forms: a device reads them at fixed offsets (GAgent) and skips whatever
# follows the last field, e.g. the id the cloud appends to a 0x0211 push.
TAIL_ALLOWED = frozenset({0x020E, 0x0210, 0x0211})


class WireError(ValueError):
    """Bytes that are not a well-formed frame of a known command."""


# -- frames ----------------------------------------------------------------------------------


@dataclass_transform(frozen_default=True)
class Frame:
    """One command's frame: a subclass names its `cmd`; its fields make a frozen dataclass."""

    cmd: ClassVar[int]

    def __init_subclass__(cls, *, cmd: int, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.cmd = cmd
        dataclass(frozen=True)(cls)


class AppPassthrough(Frame, cmd=0x0090):
    """0x0090 app → device: payload."""

    payload: bytes


class DevicePassthrough(Frame, cmd=0x0091):
    """0x0091 device → app(s): payload."""

    payload: bytes


class AckedPassthrough(Frame, cmd=0x0093):
    """0x0093 either way: sn + payload; the receiver answers 0x0094 with the same sn."""

    sn: int
    payload: bytes


class PassthroughAck(Frame, cmd=0x0094):
    """0x0094 either way: sn of the acked 0x0093 + the receiver's answer (may be empty)."""

    sn: int
    payload: bytes = b""


class SetLogLevel(Frame, cmd=0x0010):
    """0x0010 app → device: the 16-bit setting (bits 8-15 first)."""

    value: int


class LogLevelConfirm(Frame, cmd=0x0011):
    """0x0011 device → app: confirms a 0x0010 (no body)."""


class DeviceLog(Frame, cmd=0x0012):
    """0x0012 device → apps and cloud: level (1 error, 2 warning, 3 info), tag, source, text."""

    level: int
    tag: str
    source: str
    content: str


class OtaNotification(Frame, cmd=0x020E):
    """0x020E cloud → device: firmware type (1 WiFi, 2 MCU), target fid, download URL."""

    firmware_type: int
    target_fid: int
    url: str


class OnlineAppsRequest(Frame, cmd=0x020F):
    """0x020F device → cloud on `cli2ser_req`: how many apps are online (no body)."""


class OnlineAppCount(Frame, cmd=0x0210):
    """0x0210 cloud → device: online app count (u16)."""

    count: int


class OtaCheckNotification(Frame, cmd=0x0211):
    """0x0211 cloud → device: run the v4.1 OTA check for this firmware type."""

    firmware_type: int


# Bodies of the fixed-layout commands as struct formats (big-endian; seed §3.1).
_FIXED: dict[int, tuple[type[Frame], str]] = {
    0x0010: (SetLogLevel, ">H"),
    0x0011: (LogLevelConfirm, ">"),
    0x020F: (OnlineAppsRequest, ">"),
    0x0210: (OnlineAppCount, ">H"),
    0x0211: (OtaCheckNotification, ">B"),
}
_PAYLOAD: dict[int, type[AppPassthrough | DevicePassthrough]] = {
    0x0090: AppPassthrough,
    0x0091: DevicePassthrough,
}
_SN_PAYLOAD: dict[int, type[AckedPassthrough | PassthroughAck]] = {
    0x0093: AckedPassthrough,
    0x0094: PassthroughAck,
}
_LIMITS = {"url": 512, "tag": 256, "source": 32, "content": 0xFFFF}


def _varint(n: int) -> bytes:
    """MQTT "remaining length": 7 bits a byte, low first, high bit = more follows."""
    if not 0 <= n < 128**4:
        raise WireError(f"length {n} does not fit 4 bytes")
    out = bytearray()
    while True:
        n, low = divmod(n, 128)
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    for i in range(4):
        if pos + i >= len(data):
            raise WireError("truncated length")
        byte = data[pos + i]
        value += (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            return value, pos + i + 1
    raise WireError("length over 4 bytes")


def _text(value: str, limit: str) -> bytes:
    raw = value.encode("utf-8")
    if len(raw) > _LIMITS[limit]:
        raise WireError(f"{limit} over {_LIMITS[limit]} bytes")
    return struct.pack(">H", len(raw)) + raw


def body_of(frame: Frame) -> bytes:
    """The body bytes of `frame` (what follows the command)."""
    match frame:
        case AppPassthrough(payload=p) | DevicePassthrough(payload=p):
            return p
        case AckedPassthrough(sn=sn, payload=p) | PassthroughAck(sn=sn, payload=p):
            return struct.pack(">I", sn) + p
        case SetLogLevel(value=v) | OnlineAppCount(count=v):
            return struct.pack(">H", v)
        case OtaCheckNotification(firmware_type=t):
            return struct.pack(">B", t)
        case OtaNotification(firmware_type=t, target_fid=fid, url=url):
            return struct.pack(">BI", t, fid) + _text(url, "url")
        case DeviceLog(level=level, tag=tag, source=source, content=content):
            return (
                struct.pack(">B", level)
                + _text(tag, "tag")
                + _text(source, "source")
                + _text(content, "content")
            )
        case LogLevelConfirm() | OnlineAppsRequest():
            return b""
    raise WireError(f"not a frame: {frame!r}")


def encode(frame: Frame, *, short: bool | None = None) -> bytes:
    """The frame in the form its table shows (or the one forced with `short`)."""
    try:
        body = body_of(frame)
    except struct.error as err:
        raise WireError(f"{type(frame).__name__}: {err}") from err
    command = struct.pack(">H", frame.cmd)
    if short is None:
        short = frame.cmd in SHORT_FORM_COMMANDS
    if short:
        return HEADER + command + body
    rest = b"\x00" + command + body
    return HEADER + _varint(len(rest)) + rest


def split(data: bytes) -> tuple[int, bytes, bool]:
    """(command, body, short form?) of one frame; the length is checked, the body is not."""
    if data[:4] != HEADER:
        raise WireError(f"bad header {data[:4].hex()}")
    if len(data) < 6:
        raise WireError("truncated frame")
    if data[4] == 0x02:
        (command,) = struct.unpack_from(">H", data, 4)
        if command not in SHORT_FORM_COMMANDS:
            raise WireError(f"0x{command:04X} has no short form")
        return command, data[6:], True
    length, pos = _read_varint(data, 4)
    if length != len(data) - pos:
        raise WireError(f"length field {length}, {len(data) - pos} bytes follow")
    if length < 3:
        raise WireError("frame too short for flag and command")
    if data[pos] != 0x00:
        raise WireError(f"flag 0x{data[pos]:02X}, expected 0x00")
    (command,) = struct.unpack_from(">H", data, pos + 1)
    return command, data[pos + 3 :], False


def _read_text(body: bytes, pos: int, limit: str) -> tuple[str, int]:
    if pos + 2 > len(body):
        raise WireError(f"truncated {limit} length")
    (size,) = struct.unpack_from(">H", body, pos)
    if size > _LIMITS[limit]:
        raise WireError(f"{limit} over {_LIMITS[limit]} bytes")
    raw = body[pos + 2 : pos + 2 + size]
    if len(raw) != size:
        raise WireError(f"truncated {limit}")
    try:
        return raw.decode("utf-8"), pos + 2 + size
    except UnicodeDecodeError as err:
        raise WireError(f"{limit} is not UTF-8") from err


def _decode_body(command: int, body: bytes, short: bool) -> Frame:
    if command in _PAYLOAD:
        return _PAYLOAD[command](body)
    if command in _SN_PAYLOAD:
        if len(body) < 4:
            raise WireError("truncated sn")
        (sn,) = struct.unpack_from(">I", body)
        return _SN_PAYLOAD[command](sn, body[4:])
    tail_allowed = short and command in TAIL_ALLOWED
    if command in _FIXED:
        kind, layout = _FIXED[command]
        size = struct.calcsize(layout)
        if len(body) < size or (len(body) > size and not tail_allowed):
            raise WireError(f"0x{command:04X}: body of {len(body)} bytes")
        return kind(*struct.unpack_from(layout, body))
    if command == 0x020E:
        if len(body) < 5:
            raise WireError("truncated 0x020E")
        firmware_type, fid = struct.unpack_from(">BI", body)
        url, end = _read_text(body, 5, "url")
        if end != len(body) and not tail_allowed:
            raise WireError("bytes after the 0x020E URL")
        return OtaNotification(firmware_type, fid, url)
    if command == 0x0012:
        if not body:
            raise WireError("truncated 0x0012")
        tag, pos = _read_text(body, 1, "tag")
        source, pos = _read_text(body, pos, "source")
        content, pos = _read_text(body, pos, "content")
        if pos != len(body):
            raise WireError("bytes after the 0x0012 content")
        return DeviceLog(body[0], tag, source, content)
    raise WireError(f"unknown command 0x{command:04X}")


def decode(data: bytes) -> Frame:
    """One frame, either form; anything malformed raises WireError."""
    command, body, short = split(data)
    return _decode_body(command, body, short)


def is_short_form(data: bytes) -> bool:
    """True when `data` is a well-framed short-form frame."""
    return split(data)[2]


# -- topics (seed §4; 0x020F on cli2ser_req as every Gizwits firmware does) ------------------

CLI2SER_REQ = "cli2ser_req"


def dev2app(did: str, app_client_id: str | None = None) -> str:
    """Device → all bound apps, or → one app."""
    return f"dev2app/{did}" if app_client_id is None else f"dev2app/{did}/{app_client_id}"


def app2dev(did: str, app_client_id: str) -> str:
    """App → device."""
    return f"app2dev/{did}/{app_client_id}"


def ser2cli_res(did: str) -> str:
    """Cloud → one device."""
    return f"ser2cli_res/{did}"


def ser2cli_noti(product_key: str) -> str:
    """Cloud → every device of a product."""
    return f"ser2cli_noti/{product_key}"


def device_subscriptions(did: str, product_key: str) -> tuple[str, str, str]:
    """The three topics a device reads."""
    return (ser2cli_noti(product_key), ser2cli_res(did), f"app2dev/{did}/#")


# -- GService bodies (GAgent http.c: `key=value&...`, form-urlencoded) -----------------------


def form_body(pairs: dict[str, str], *, raw_last: tuple[str, str] | None = None) -> str:
    """`k=v&...` with values percent-encoded; `raw_last` is appended verbatim at the end.

    GAgent reads `download_url` as the raw text after `download_url=` up to the end of the line,
    so a URL carrying its own `?a=1&b=2` is sent unencoded, last.
    """
    parts = [f"{quote(k, safe='')}={quote(v, safe=':/')}" for k, v in pairs.items()]
    if raw_last is not None:
        parts.append(f"{raw_last[0]}={raw_last[1]}")
    return "&".join(parts)
