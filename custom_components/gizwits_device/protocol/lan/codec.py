"""LAN framing: encode/decode one frame, and an incremental decoder for the TCP byte stream.

LAN frames are the cloud's long form only (no short form)::

    00 00 00 03 | varint length | flag 0x00 | command (BE u16) | body

The length counts flag + command + body, so it is at least 3. Over TCP frames arrive split
and coalesced arbitrarily; `LanStreamDecoder` cuts them out of the stream. A bad header or a
bad length leaves no way to find the next frame, so those errors poison the decoder (the
connection must be closed); a complete frame with bad contents (`decode_lan_frame`) is just
that one frame's error.
"""

from collections.abc import Callable

from ..frame_codec import HEADER, decode_frame, encode_frame
from ..frame_fields import (
    MAX_PAYLOAD,
    FieldError,
    FrameError,
    HeaderError,
    LengthError,
    TruncatedError,
    UnknownCommandError,
)
from ..frames import AckedPassthrough, AppPassthrough, DevicePassthrough, PassthroughAck
from . import messages as msg

__all__ = [
    "MAX_LAN_FRAME",
    "LanMessage",
    "LanStreamDecoder",
    "decode_lan_frame",
    "encode_lan_frame",
]

type LanMessage = (
    msg.DiscoveryRequest
    | msg.DiscoveryReply
    | msg.StartupBroadcast
    | msg.PasscodeRequest
    | msg.PasscodeReply
    | msg.LoginRequest
    | msg.LoginReply
    | msg.ModuleInfoRequest
    | msg.ModuleInfo
    | msg.Heartbeat
    | msg.HeartbeatReply
    | AppPassthrough
    | DevicePassthrough
    | AckedPassthrough
    | PassthroughAck
)

_HEADER_LEN = len(HEADER)
_MAX_VARINT_BYTES = 4
_MIN_LENGTH = 3  # flag + command
# The largest frame anyone should send: a 0x0093/0x0094 with sn and a maximal payload.
_MAX_LENGTH = _MIN_LENGTH + 4 + MAX_PAYLOAD
MAX_LAN_FRAME = _HEADER_LEN + 3 + _MAX_LENGTH  # varint of _MAX_LENGTH takes 3 bytes

_PASSTHROUGH = (AppPassthrough, DevicePassthrough, AckedPassthrough, PassthroughAck)
_PASSTHROUGH_COMMANDS = frozenset(cls.command for cls in _PASSTHROUGH)
_DECODERS: dict[int, Callable[[bytes], LanMessage]] = {
    cls.command: cls._decode
    for cls in (
        msg.DiscoveryRequest,
        msg.DiscoveryReply,
        msg.StartupBroadcast,
        msg.PasscodeRequest,
        msg.PasscodeReply,
        msg.LoginRequest,
        msg.LoginReply,
        msg.ModuleInfoRequest,
        msg.ModuleInfo,
        msg.Heartbeat,
        msg.HeartbeatReply,
    )
}


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _read_length(data: bytes | bytearray) -> tuple[int, int] | None:
    """(length, header + varint size) of the frame at the start of data; None if incomplete.

    Raises HeaderError / LengthError when no valid frame can start here.
    """
    head = bytes(data[:_HEADER_LEN])
    if head != HEADER[: len(head)]:
        raise HeaderError(f"bad header {head.hex(' ')}")
    value = shift = 0
    for index in range(_MAX_VARINT_BYTES):
        pos = _HEADER_LEN + index
        if pos >= len(data):
            return None
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if byte == 0 and index:
                raise LengthError("length field is not minimally encoded")
            if value < _MIN_LENGTH:
                raise LengthError(f"length {value} is shorter than flag + command")
            if value > _MAX_LENGTH:
                raise LengthError(f"length {value} is over the limit {_MAX_LENGTH}")
            return value, pos + 1
        shift += 7
    raise LengthError("length field is longer than 4 bytes")


def encode_lan_frame(message: LanMessage) -> bytes:
    """The complete frame for one message (send it in one write)."""
    if isinstance(message, _PASSTHROUGH):
        return encode_frame(message, short_form=False)
    body = message._body()
    length = _MIN_LENGTH + len(body)
    if length > _MAX_LENGTH:
        raise FieldError(f"body is {len(body)} bytes, too long for a LAN frame")
    return b"".join((HEADER, _encode_varint(length), b"\x00", message.command.to_bytes(2), body))


def decode_lan_frame(data: bytes) -> LanMessage:
    """Decode exactly one frame (a UDP datagram, or one cut by LanStreamDecoder).

    Raises a FrameError subclass: HeaderError, LengthError (declared length disagrees with the
    size), TruncatedError, UnknownCommandError (a command this device does not speak) or
    FieldError.
    """
    data = bytes(data)
    found = _read_length(data)
    if found is None:
        raise TruncatedError("data ends inside the header or length")
    length, start = found
    if len(data) - start != length:
        raise LengthError(f"length field says {length}, {len(data) - start} byte(s) follow")
    if data[start] != 0:
        raise FieldError(f"flag is 0x{data[start]:02x}, expected 0x00")
    command = int.from_bytes(data[start + 1 : start + 3])
    if command in _PASSTHROUGH_COMMANDS:
        frame = decode_frame(data)
        assert isinstance(frame, _PASSTHROUGH)  # the command selects one of these
        return frame
    decoder = _DECODERS.get(command)
    if decoder is None:
        raise UnknownCommandError(f"unknown LAN command 0x{command:04x}")
    return decoder(data[start + 3 :])


class LanStreamDecoder:
    """Cuts complete frames out of a TCP byte stream fed in arbitrary chunks.

    The buffer holds at most one partial frame plus what the last `feed` added beyond the
    frames already taken: `feed` refuses to grow it past `max_buffer`.
    """

    def __init__(self, max_buffer: int = 2 * MAX_LAN_FRAME) -> None:
        self._buffer = bytearray()
        self._max_buffer = max_buffer
        self._error: FrameError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> None:
        """Add received bytes; raises LengthError if the buffer would exceed its bound."""
        if self._error is not None:
            raise self._error
        if len(self._buffer) + len(data) > self._max_buffer:
            self._error = LengthError(f"more than {self._max_buffer} bytes buffered")
            raise self._error
        self._buffer += data

    def next_frame(self) -> bytes | None:
        """The next complete frame's bytes, or None until more data arrives.

        A HeaderError or LengthError here is final: the stream cannot be resynchronised and
        every later call raises it again.
        """
        if self._error is not None:
            raise self._error
        try:
            found = _read_length(self._buffer)
        except FrameError as err:
            self._error = err
            raise
        if found is None:
            return None
        length, start = found
        end = start + length
        if len(self._buffer) < end:
            return None
        frame = bytes(self._buffer[:end])
        del self._buffer[:end]
        return frame
