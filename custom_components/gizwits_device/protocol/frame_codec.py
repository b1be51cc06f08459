"""Gizwits device <-> cloud frame codec: whole messages in and out (protocol.md §3, §4, §6).

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

from .frame_fields import (
    Command,
    FieldError,
    HeaderError,
    LengthError,
    TruncatedError,
    UnknownCommandError,
    need,
)
from .frames import FRAME_TYPES, Frame

__all__ = ["HEADER", "decode_frame", "encode_frame"]

HEADER = b"\x00\x00\x00\x03"
_HEADER_LEN = 4
_MAX_VARINT_BYTES = 4
_FLAG = 0

# Commands whose seed table shows no length and no flag (protocol.md §3 ruling).
_SHORT_FORM_COMMANDS = frozenset(
    {
        Command.OTA_NOTIFICATION,
        Command.OTA_CHECK_NOTIFICATION,
        Command.ONLINE_APPS_REQUEST,
        Command.ONLINE_APP_COUNT,
    }
)


# Short-form frames whose trailing bytes after the last field are ignored (module docstring).
_TRAILING_IGNORED = frozenset(
    {Command.OTA_NOTIFICATION, Command.OTA_CHECK_NOTIFICATION, Command.ONLINE_APP_COUNT}
)

# Each decoder returns the frame and the position after its last field.
_DECODERS: dict[int, Callable[[bytes, int], tuple[Frame, int]]] = {
    cls.command: cls._decode for cls in FRAME_TYPES
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
    end = need(data, pos, 2, "the command")
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
