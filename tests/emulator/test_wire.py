"""The emulator's own wire code: byte vectors written out from protocol.md §3, §4, §7, §8, and a
cross-check against the integration's independent codec (two implementations of one spec)."""

from __future__ import annotations

import ast
import contextlib
import dataclasses
from pathlib import Path

from hypothesis import given, strategies as st
import pytest

from custom_components.gizwits_device.protocol.frame_codec import decode_frame, encode_frame
from emulator import wire
from tests.protocol.frame_strategies import frames

VECTORS = [
    # §7: GAgent's 0x020F, exactly six bytes; §3: 0x0210 short form, count at bytes 6-7.
    ("00000003 020f", wire.OnlineAppsRequest()),
    ("00000003 0210 0102", wire.OnlineAppCount(0x0102)),
    ("00000003 0211 02", wire.OtaCheckNotification(2)),
    ("00000003 020e 01 00000007 0004 68747470", wire.OtaNotification(1, 7, "http")),
    # §8: a real PH-803W's read over 0x0093 and its answer inside the 0x0094.
    ("00000003 08 00 0093 00000004 02", wire.AckedPassthrough(4, b"\x02")),
    (
        "00000003 11 00 0094 00000004 03 00 02dc 089d 0000 0000",
        wire.PassthroughAck(4, bytes.fromhex("0300 02dc 089d 0000 0000")),
    ),
    ("00000003 07 00 0094 00000009", wire.PassthroughAck(9)),
    ("00000003 04 00 0090 01", wire.AppPassthrough(b"\x01")),
    ("00000003 05 00 0010 0102", wire.SetLogLevel(0x0102)),
    ("00000003 03 00 0011", wire.LogLevelConfirm()),
    (
        "00000003 0f 00 0012 02 0001 74 0001 73 0003 e5ae b9",
        wire.DeviceLog(2, "t", "s", "容"),
    ),
]


@pytest.mark.parametrize(("hex_bytes", "frame"), VECTORS)
def test_vectors(hex_bytes: str, frame: wire.Frame) -> None:
    raw = bytes.fromhex(hex_bytes)
    assert wire.decode(raw) == frame
    assert wire.encode(frame) == raw


def test_varint_length_over_127() -> None:
    """§3: the length is an MQTT remaining length: 203 = cb 01."""
    raw = wire.encode(wire.DevicePassthrough(bytes(200)))
    assert raw[:7] == bytes.fromhex("00000003 cb01 00")
    assert wire.decode(raw) == wire.DevicePassthrough(bytes(200))


def test_both_forms_are_accepted() -> None:
    """§3: a receiver accepts both forms for every command with a short one."""
    long_form = wire.encode(wire.OnlineAppCount(3), short=False)
    assert long_form == bytes.fromhex("00000003 05 00 0210 0003")
    assert wire.decode(long_form) == wire.OnlineAppCount(3)
    assert not wire.is_short_form(long_form)
    assert wire.is_short_form(bytes.fromhex("00000003 020f"))


@pytest.mark.parametrize(
    "hex_bytes",
    [
        "00000004 03 00 0090",  # header
        "00000003 ffffffff7f 00 0090",  # varint over 4 bytes
        "00000003 05 00 0090 01",  # length says 5, 4 follow
        "00000003 04 01 0090 01",  # flag not 00
        "00000003 03 00 7777",  # unknown command
        "00000003 0090 01",  # 0x0090 has no short form
        "00000003 020f 00",  # device → cloud short form longer than its table
        "00000003 06 00 0210 000102",  # long form: its fields must fill its length
        "00000003 0210 00",  # short form cut short
        "00000003 05 00 0094 0000",  # truncated sn
        "00000003 0c 00 0012 01 0002 fffe 0000 0000",  # tag not UTF-8
        "00000003",
    ],
)
def test_malformed_frames_are_refused(hex_bytes: str) -> None:
    with pytest.raises(wire.WireError):
        wire.decode(bytes.fromhex(hex_bytes))


@pytest.mark.parametrize(
    ("hex_bytes", "frame"),
    [
        # §3: a device reads the cloud's short forms at fixed offsets and skips the rest; real
        # 0x0211 pushes carry a u16 length and a 22-character id after the firmware type.
        ("00000003 0211 01 0016" + b"sMuYsDb4kenk9xUYFwowNT".hex(), wire.OtaCheckNotification(1)),
        ("00000003 0210 000102", wire.OnlineAppCount(1)),
        ("00000003 020e 02 00000007 0001 61 ff", wire.OtaNotification(2, 7, "a")),
    ],
)
def test_cloud_short_forms_skip_a_tail(hex_bytes: str, frame: wire.Frame) -> None:
    assert wire.decode(bytes.fromhex(hex_bytes)) == frame


def test_url_over_512_bytes_is_refused_both_ways() -> None:
    with pytest.raises(wire.WireError):
        wire.encode(wire.OtaNotification(1, 1, "x" * 513))
    raw = bytes.fromhex("00000003 020e 01 00000001 0201") + b"x" * 513
    with pytest.raises(wire.WireError):
        wire.decode(raw)


def _fields(frame: object) -> tuple[str, tuple[object, ...]]:
    values = tuple(getattr(frame, f.name) for f in dataclasses.fields(frame))  # type: ignore[arg-type]
    return type(frame).__name__, values


@given(frames)
def test_agrees_with_the_integration_codec(frame: object) -> None:
    """Two codecs written apart from one spec must agree byte for byte on every valid frame."""
    raw = encode_frame(frame)  # type: ignore[arg-type]
    ours = wire.decode(raw)
    assert _fields(ours) == _fields(frame)
    assert wire.encode(ours) == raw
    assert _fields(decode_frame(wire.encode(ours))) == _fields(frame)


@given(st.binary(max_size=64))
def test_any_bytes_decode_or_raise_wire_error(data: bytes) -> None:
    """§6: malformed input is a typed error, never another exception."""
    with contextlib.suppress(wire.WireError):
        wire.decode(wire.HEADER + data)


def test_form_body_keeps_download_url_raw() -> None:
    """§7: download_url is the raw text to the end of the line, its own query intact."""
    body = wire.form_body({"soft_ver": "04020021"}, raw_last=("download_url", "http://h/f?a=1&b=2"))
    assert body == "soft_ver=04020021&download_url=http://h/f?a=1&b=2"


def test_emulator_imports_nothing_of_the_integration() -> None:
    """Issue 12: the emulator is an independent witness, with its own frames, LAN code and P0
    codec (emulator/p0.py, held to the same golden vectors as the integration's), so a mistake
    on either side fails a test instead of being mirrored. Not one module of the integration
    may be imported, however it is spelled."""
    emulator_dir = Path(__file__).parents[2] / "emulator"
    imported: set[str] = set()
    for source in emulator_dir.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom):
                imported.add("." * node.level + (node.module or ""))
                if node.module is None or node.level:
                    imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__":
                imported.update(
                    a.value
                    for a in node.args
                    if isinstance(a, ast.Constant) and type(a.value) is str
                )
    assert "emulator.wire" in imported  # the walk sees the emulator's own imports
    assert not {m for m in imported if "custom_components" in m or "gizwits_device" in m}
    assert "importlib" not in imported  # no import by name behind the walk's back
