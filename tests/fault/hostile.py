"""Hostile inbound M2M messages, each one *invalid by construction* (protocol.md §3, §4, §6).

A message is a (topic kind, payload) pair. Every strategy here builds something a device must
drop: a broken header, a long form whose length disagrees with the bytes, a varint over 4
bytes or not minimal, a non-zero flag, an unknown command, a URL over 512 bytes, a valid frame
on a topic where its direction forbids it, or a valid frame on a topic level the device never
serves. (A short-form frame cut short may still be a valid shorter frame, so only long forms
are truncated.)
"""

from __future__ import annotations

from enum import StrEnum

from hypothesis import strategies as st

from custom_components.gizwits_device.protocol.frame_codec import HEADER, encode_frame
from custom_components.gizwits_device.protocol.frame_fields import MAX_PAYLOAD, MAX_URL, Command
from custom_components.gizwits_device.protocol.frames import (
    AckedPassthrough,
    AppPassthrough,
    DevicePassthrough,
    Frame,
    LogLevelConfirm,
    OnlineAppCount,
    OnlineAppsRequest,
    OtaCheckNotification,
    OtaNotification,
    PassthroughAck,
    SetLogLevel,
)
from tests.protocol.frame_strategies import FRAME_STRATEGIES, frames


class Where(StrEnum):
    """The topics a device receives on (§2.6), plus a level it must not serve."""

    APP = "app"  # app2dev/<did>/<app>
    APP_NESTED = "app_nested"  # app2dev/<did>/<app>/<more>: not an app topic
    CLOUD_RESPONSE = "cloud_response"  # ser2cli_res/<did>
    CLOUD_NOTIFICATION = "cloud_notification"  # ser2cli_noti/<product key>


# What each topic may carry, by protocol.md §4's direction column.
ALLOWED: dict[Where, tuple[type[Frame], ...]] = {
    Where.APP: (AppPassthrough, AckedPassthrough, PassthroughAck, SetLogLevel),
    Where.APP_NESTED: (),
    Where.CLOUD_RESPONSE: (OnlineAppCount, OtaNotification, OtaCheckNotification),
    Where.CLOUD_NOTIFICATION: (OtaNotification, OtaCheckNotification),
}

type Hostile = tuple[Where, bytes]

_KNOWN = {int(c) for c in Command}
wheres = st.sampled_from(list(Where))


def _long_form(frame: Frame) -> bytes:
    return encode_frame(frame, short_form=False)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


@st.composite
def bad_header(draw: st.DrawFn) -> bytes:
    head = draw(st.binary(min_size=0, max_size=4).filter(lambda h: h != HEADER))
    rest = draw(st.binary(max_size=64)) if len(head) == 4 else b""
    return head + rest


@st.composite
def truncated_long_form(draw: st.DrawFn) -> bytes:
    data = _long_form(draw(frames))
    return data[: draw(st.integers(0, len(data) - 1))]


@st.composite
def overlong_long_form(draw: st.DrawFn) -> bytes:
    return _long_form(draw(frames)) + draw(st.binary(min_size=1, max_size=32))


@st.composite
def varint_over_four_bytes(draw: st.DrawFn) -> bytes:
    continuation = bytes(draw(st.integers(0x80, 0xFF)) for _ in range(4))
    return HEADER + continuation + draw(st.binary(max_size=32))


@st.composite
def varint_not_minimal(draw: st.DrawFn) -> bytes:
    frame = _long_form(draw(frames))
    length = len(frame) - 5 if frame[4] < 0x80 else None
    if length is None:  # already a multi-byte varint: pad one continuation byte instead
        return HEADER + b"\x83\x80\x00" + frame[5:]
    return HEADER + bytes([0x80 | length, 0x00]) + frame[5:]


@st.composite
def nonzero_flag(draw: st.DrawFn) -> bytes:
    data = bytearray(_long_form(draw(frames)))
    flag_at = 4 + len(_varint(len(data) - 4 - 1))
    flag_at = 5 if data[4] < 0x80 else flag_at
    data[flag_at] = draw(st.integers(1, 255))
    return bytes(data)


@st.composite
def unknown_command(draw: st.DrawFn) -> bytes:
    code = draw(st.integers(0, 0xFFFF).filter(lambda c: c not in _KNOWN))
    body = draw(st.binary(max_size=64))
    if code >> 8 <= 2 and draw(st.booleans()):
        return HEADER + code.to_bytes(2) + body  # short form
    inner = b"\x00" + code.to_bytes(2) + body
    return HEADER + _varint(len(inner)) + inner


@st.composite
def url_over_limit(draw: st.DrawFn) -> bytes:
    url = b"http://127.0.0.1/" + b"a" * draw(st.integers(MAX_URL - 16, MAX_URL + 200))
    fid = draw(st.integers(0, 0xFFFF_FFFF)).to_bytes(4)
    return (
        HEADER
        + b"\x02\x0e"
        + bytes([draw(st.sampled_from([1, 2]))])
        + fid
        + (len(url).to_bytes(2) + url)
    )


def malformed() -> st.SearchStrategy[Hostile]:
    """A broken frame on any topic."""
    payloads = st.one_of(
        bad_header(),
        truncated_long_form(),
        overlong_long_form(),
        varint_over_four_bytes(),
        varint_not_minimal(),
        nonzero_flag(),
        unknown_command(),
        url_over_limit(),
        st.binary(max_size=128).filter(lambda b: b[:4] != HEADER),
    )
    return st.tuples(wheres, payloads)


@st.composite
def misdirected(draw: st.DrawFn) -> Hostile:
    """A valid frame on a topic its direction forbids, or on a nested app topic."""
    where = draw(wheres)
    forbidden = [t for t in FRAME_STRATEGIES if t not in ALLOWED[where]]
    frame = draw(FRAME_STRATEGIES[draw(st.sampled_from(forbidden))])
    return where, encode_frame(frame, short_form=draw(st.sampled_from([None, False, True])))


hostile_messages: st.SearchStrategy[Hostile] = st.one_of(malformed(), misdirected())


def oversized() -> list[Hostile]:
    """Frames past the 65535-byte limits, and a length field promising far more than sent."""
    over = MAX_PAYLOAD + 1
    app_over = b"\x00\x00\x90" + b"\xa5" * over
    acked_over = b"\x00\x00\x93" + b"\x00\x00\x00\x01" + b"\x5a" * over
    return [
        (Where.APP, HEADER + _varint(len(app_over)) + app_over),
        (Where.APP, HEADER + _varint(len(acked_over)) + acked_over),
        (Where.APP, HEADER + b"\x00\x90" + b"\x00" * (1 << 20)),  # short form, 1 MiB payload
        (Where.APP, HEADER + _varint(0x0FFF_FFFF) + b"\x00\x00\x90" + b"x" * 100),
        (Where.CLOUD_RESPONSE, HEADER + _varint(0x0FFF_FFFF) + b"\x00\x02\x10\x00\x01"),
        (
            Where.CLOUD_NOTIFICATION,
            HEADER + b"\x02\x0e\x01" + b"\x00" * 4 + b"\xff\xff" + b"u" * 65535,
        ),
        (Where.APP_NESTED, encode_frame(AppPassthrough(b"\x01" * MAX_PAYLOAD))),
    ]


# Valid frames that are not accepted *anywhere* a device listens, for the HA-level test.
DEVICE_SENT: tuple[Frame, ...] = (
    DevicePassthrough(b"\x04\x01"),
    LogLevelConfirm(),
    OnlineAppsRequest(),
)

__all__ = [
    "ALLOWED",
    "DEVICE_SENT",
    "Hostile",
    "Where",
    "hostile_messages",
    "oversized",
]
