"""Byte-exact vectors, limits and malformed input for the frame codec (protocol.md §3, §4, §6)."""

from dataclasses import FrozenInstanceError

import pytest

from custom_components.gizwits_device.protocol import (
    MAX_PAYLOAD,
    AckedPassthrough,
    AppPassthrough,
    DeviceLog,
    FirmwareType,
    FrameError,
    LogLevel,
    OnlineAppCount,
    OtaCheckNotification,
    OtaNotification,
    SetLogLevel,
)
from custom_components.gizwits_device.protocol.frame_codec import HEADER, decode_frame, encode_frame
from custom_components.gizwits_device.protocol.frame_fields import (
    MAX_CONTENT,
    MAX_SOURCE,
    MAX_TAG,
    MAX_URL,
    Command,
    FieldError,
    HeaderError,
    LengthError,
    TruncatedError,
    UnknownCommandError,
)
from custom_components.gizwits_device.protocol.frames import (
    DevicePassthrough,
    Frame,
    LogLevelConfirm,
    OnlineAppsRequest,
    PassthroughAck,
)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# (frame, long form, short form). Long form = header | varint length | flag | command | body,
# short form = header | command | body (protocol.md §3; seed §3.1 and the §4.x tables).
VECTORS: list[tuple[Frame, str, str]] = [
    # seed §4.8: 0x0090 app -> device, payload 01 02 03; length 6 = flag + cmd + 3
    (AppPassthrough(b"\x01\x02\x03"), "00000003 06 00 0090 010203", "00000003 0090 010203"),
    # seed §4.8: 0x0091 device -> app
    (DevicePassthrough(b"\x04\xaa"), "00000003 05 00 0091 04aa", "00000003 0091 04aa"),
    # seed §4.9: 0x0093 sn (4 B, BE) + payload
    (
        AckedPassthrough(0x01020304, b"\xff"),
        "00000003 08 00 0093 01020304 ff",
        "00000003 0093 01020304 ff",
    ),
    # seed §4.9: 0x0094 sn of the acked frame, empty payload
    (PassthroughAck(0xFFFFFFFF), "00000003 07 00 0094 ffffffff", "00000003 0094 ffffffff"),
    (
        PassthroughAck(7, b"ok"),
        "00000003 09 00 0094 00000007 6f6b",
        "00000003 0094 00000007 6f6b",
    ),
    # seed §4.10: 0x0010 bits 8-15 byte (01) then bits 0-7 byte (02) = 0x0102
    (SetLogLevel(0x0102), "00000003 05 00 0010 0102", "00000003 0010 0102"),
    # seed §4.10: 0x0011 has no body
    (LogLevelConfirm(), "00000003 03 00 0011", "00000003 0011"),
    # seed §4.13: 0x0012 level 2 | len 3 "ota" | len 3 "mcu" | len 2 "ok"; length 3 + 15 = 0x12
    (
        DeviceLog(LogLevel.WARNING, "ota", "mcu", "ok"),
        "00000003 12 00 0012 02 0003 6f7461 0003 6d6375 0002 6f6b",
        "00000003 0012 02 0003 6f7461 0003 6d6375 0002 6f6b",
    ),
    # seed §4.4: 0x020E fw type 1 | target fid 0xabcd | url len 10 | "http://a/b"
    (
        OtaNotification(FirmwareType.WIFI, 0xABCD, "http://a/b"),
        "00000003 14 00 020e 01 0000abcd 000a 687474703a2f2f612f62",
        "00000003 020e 01 0000abcd 000a 687474703a2f2f612f62",
    ),
    # seed §4.5: 0x0211 fw type 2 (MCU)
    (OtaCheckNotification(FirmwareType.MCU), "00000003 04 00 0211 02", "00000003 0211 02"),
    # seed §4.11 / protocol.md §7: GAgent sends exactly 00 00 00 03 02 0F
    (OnlineAppsRequest(), "00000003 03 00 020f", "00000003 020f"),
    # seed §4.12: 0x0210 count (2 B, BE)
    (OnlineAppCount(0x0102), "00000003 05 00 0210 0102", "00000003 0210 0102"),
]

# protocol.md §3: senders use the short form for exactly these four commands.
SHORT_BY_DEFAULT = {0x020E, 0x0211, 0x020F, 0x0210}


def test_command_codes() -> None:
    # protocol.md §4: eleven codes (0x0093/0x0094 serve both directions); the seed has no other.
    assert {int(c) for c in Command} == {
        0x0090, 0x0091, 0x0093, 0x0094, 0x0010, 0x0011, 0x0012,
        0x020E, 0x0211, 0x020F, 0x0210,
    }  # fmt: skip
    assert {type(f) for f, _, _ in VECTORS} == {
        AppPassthrough, DevicePassthrough, AckedPassthrough, PassthroughAck, SetLogLevel,
        LogLevelConfirm, DeviceLog, OtaNotification, OtaCheckNotification, OnlineAppsRequest,
        OnlineAppCount,
    }  # fmt: skip


@pytest.mark.parametrize(("frame", "long_hex", "short_hex"), VECTORS)
def test_vectors(frame: Frame, long_hex: str, short_hex: str) -> None:
    long_form, short_form = h(long_hex), h(short_hex)
    assert encode_frame(frame, short_form=False) == long_form
    assert encode_frame(frame, short_form=True) == short_form
    default = short_form if frame.command in SHORT_BY_DEFAULT else long_form
    assert encode_frame(frame) == default
    # protocol.md §3: a receiver accepts both forms for every command.
    assert decode_frame(long_form) == frame
    assert decode_frame(short_form) == frame
    assert type(decode_frame(long_form).command) is Command


def test_multibyte_varint_vectors() -> None:
    # seed §3.1 / MQTT remaining length: 203 = 0xcb 0x01; 65542 = 0x86 0x80 0x04
    frame = AppPassthrough(bytes(200))
    data = encode_frame(frame)
    assert data[:7] == h("00000003 cb01 00")
    assert decode_frame(data) == frame
    big = AckedPassthrough(1, b"\x5a" * MAX_PAYLOAD)
    data = encode_frame(big)
    assert data[:14] == h("00000003 868004 00 0093 00000001")
    assert len(data) == 4 + 3 + 65542
    assert decode_frame(data) == big


def test_bytes_like_input() -> None:
    data = h("00000003 0090 6162")
    for raw in (bytearray(data), memoryview(data)):
        frame = decode_frame(raw)  # type: ignore[arg-type]
        assert frame == AppPassthrough(b"ab")
        assert type(frame.payload) is bytes  # type: ignore[union-attr]


def test_frames_are_frozen_and_hashable() -> None:
    frame = AckedPassthrough(1, b"x")
    with pytest.raises(FrozenInstanceError):
        frame.sn = 2  # type: ignore[misc]
    assert hash(frame) == hash(AckedPassthrough(1, b"x"))
    assert frame.command is Command.ACKED_PASSTHROUGH


def test_enum_fields_normalised() -> None:
    log = DeviceLog(3, "t", "s", "c")  # type: ignore[arg-type]
    assert log.level is LogLevel.INFO
    ota = OtaNotification(2, 1, "")  # type: ignore[arg-type]
    assert ota.firmware_type is FirmwareType.MCU
    assert OtaCheckNotification(1).firmware_type is FirmwareType.WIFI  # type: ignore[arg-type]


# --- construction limits (protocol.md §4) -----------------------------------------------------


@pytest.mark.parametrize(
    ("make", "ok", "bad"),
    [
        (lambda v: AckedPassthrough(v, b""), 0xFFFFFFFF, 0x1_0000_0000),
        (lambda v: AckedPassthrough(v, b""), 0, -1),
        (PassthroughAck, 0xFFFFFFFF, 0x1_0000_0000),
        (PassthroughAck, 0, -1),
        (SetLogLevel, 0xFFFF, 0x10000),
        (SetLogLevel, 0, -1),
        (OnlineAppCount, 0xFFFF, 0x10000),
        (OnlineAppCount, 0, -1),
        (lambda v: OtaNotification(FirmwareType.WIFI, v, ""), 0xFFFFFFFF, 0x1_0000_0000),
        (lambda v: OtaNotification(FirmwareType.WIFI, v, ""), 0, -1),
    ],
)
def test_integer_limits(make, ok: int, bad: int) -> None:  # type: ignore[no-untyped-def]
    frame = make(ok)
    for short in (False, True):
        assert decode_frame(encode_frame(frame, short_form=short)) == frame
    with pytest.raises(FieldError):
        make(bad)
    with pytest.raises(FieldError):
        make("1")


@pytest.mark.parametrize(
    "make",
    [
        AppPassthrough,
        DevicePassthrough,
        lambda p: AckedPassthrough(0, p),
        lambda p: PassthroughAck(0, p),
    ],
)
def test_payload_limit(make) -> None:  # type: ignore[no-untyped-def]
    frame = make(b"\x01" * MAX_PAYLOAD)
    for short in (False, True):
        assert decode_frame(encode_frame(frame, short_form=short)) == frame
    with pytest.raises(FieldError):
        make(b"\x01" * (MAX_PAYLOAD + 1))
    with pytest.raises(FieldError):
        make("text")
    with pytest.raises(FieldError):
        make(bytearray(b"x"))


def test_url_limit() -> None:
    # protocol.md §4: url <= 512 bytes (UTF-8 bytes, not characters)
    for url in ("u" * MAX_URL, "中" * 170 + "ab"):
        frame = OtaNotification(FirmwareType.MCU, 1, url)
        assert decode_frame(encode_frame(frame)) == frame
    for url in ("u" * (MAX_URL + 1), "中" * 171):
        with pytest.raises(FieldError):
            OtaNotification(FirmwareType.MCU, 1, url)
    for bad in ("\ud800", b"http://x"):
        with pytest.raises(FieldError):
            OtaNotification(FirmwareType.MCU, 1, bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0, 3, -1, "1"])
def test_bad_firmware_type(value: object) -> None:
    with pytest.raises(FieldError):
        OtaNotification(value, 1, "")  # type: ignore[arg-type]
    with pytest.raises(FieldError):
        OtaCheckNotification(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0, 4, 255, "1"])
def test_bad_log_level(value: object) -> None:
    with pytest.raises(FieldError):
        DeviceLog(value, "", "", "")  # type: ignore[arg-type]


# --- DeviceLog truncation (protocol.md §4) ----------------------------------------------------


def test_device_log_limits_exact() -> None:
    log = DeviceLog(LogLevel.INFO, "t" * MAX_TAG, "s" * MAX_SOURCE, "c" * MAX_CONTENT)
    assert (len(log.tag), len(log.source), len(log.content)) == (MAX_TAG, MAX_SOURCE, MAX_CONTENT)
    for short in (False, True):
        assert decode_frame(encode_frame(log, short_form=short)) == log


def test_device_log_truncates_ascii() -> None:
    log = DeviceLog(LogLevel.INFO, "t" * 300, "s" * 33, "c" * (MAX_CONTENT + 10))
    assert (log.tag, log.source, log.content) == ("t" * 256, "s" * 32, "c" * MAX_CONTENT)
    assert decode_frame(encode_frame(log)) == log


def test_device_log_truncation_never_splits_chinese() -> None:
    # 3-byte characters: 256 // 3 = 85 whole characters (255 B) fit in the tag.
    log = DeviceLog(LogLevel.ERROR, "温度传感器" * 20, "设备日志来源" * 3, "中" * 21846)
    assert log.tag == ("温度传感器" * 20)[:85]
    assert len(log.tag.encode()) == 255
    assert log.source == ("设备日志来源" * 3)[:10]  # 30 B; an 11th character would need 33
    assert log.content == "中" * 21845  # exactly 65535 B
    assert len(log.content.encode()) == MAX_CONTENT
    assert decode_frame(encode_frame(log)) == log


def test_device_log_truncation_mixed_widths() -> None:
    # "a" + 3-byte chars: 1 + 85 * 3 = 256 fits exactly; one more ASCII byte pushes a char out.
    assert DeviceLog(LogLevel.INFO, "a" + "中" * 90, "", "").tag == "a" + "中" * 85
    assert DeviceLog(LogLevel.INFO, "ab" + "中" * 90, "", "").tag == "ab" + "中" * 84
    # 4-byte characters in the 32-byte source: 8 fit, a partial 9th is dropped.
    assert DeviceLog(LogLevel.INFO, "", "😀" * 9, "").source == "😀" * 8
    assert DeviceLog(LogLevel.INFO, "", "x" + "😀" * 9, "").source == "x" + "😀" * 7


def test_device_log_rejects_non_text() -> None:
    with pytest.raises(FieldError):
        DeviceLog(LogLevel.INFO, "\udc80", "", "")
    with pytest.raises(FieldError):
        DeviceLog(LogLevel.INFO, "", b"src", "")  # type: ignore[arg-type]


# --- malformed input (protocol.md §6) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("hex_data", "error"),
    [
        # wrong header
        ("00000004 0011", HeaderError),
        ("01000003 03 00 0011", HeaderError),
        ("000003", HeaderError),
        ("ff", HeaderError),
        # data ends inside the header / right after it / inside the command
        ("", TruncatedError),
        ("000000", TruncatedError),
        ("00000003", TruncatedError),
        ("00000003 00", TruncatedError),
        ("00000003 02", TruncatedError),
        # varint: over 4 bytes, ends mid-varint, not minimal (MQTT 5.0 §1.5.5)
        ("00000003 80808080 01 00 0011", LengthError),
        ("00000003 ffffffff 7f", LengthError),
        ("00000003 80", TruncatedError),
        ("00000003 ffffff", TruncatedError),
        ("00000003 8300 00 0011", LengthError),
        ("00000003 80 00", LengthError),
        ("00000003 838000 00 0011", LengthError),
        # declared length disagrees with the bytes: more declared, fewer declared, huge
        ("00000003 04 00 0011", LengthError),
        ("00000003 03 00 0011 00", LengthError),
        ("00000003 05 00 0210 01", LengthError),
        ("00000003 ffffff7f 00 0011", LengthError),
        # bad flag
        ("00000003 03 01 0011", FieldError),
        ("00000003 03 ff 0011", FieldError),
        # unknown commands, both forms (a fifth byte of 1 is a short-form command high byte)
        ("00000003 0013", UnknownCommandError),
        ("00000003 0092 00", UnknownCommandError),
        ("00000003 0100", UnknownCommandError),
        ("00000003 0212", UnknownCommandError),
        ("00000003 03 00 0000", UnknownCommandError),
        ("00000003 04 00 0301 00", UnknownCommandError),
        # bad enum values
        ("00000003 0211 00", FieldError),
        ("00000003 0211 03", FieldError),
        ("00000003 020e 03 00000001 0000", FieldError),
        ("00000003 0012 00 0000 0000 0000", FieldError),
        ("00000003 0012 04 0000 0000 0000", FieldError),
        # trailing bytes after the last field: short form (all but the cloud -> device
        # 0x020E/0x0210/0x0211, test_cloud_short_forms_ignore_trailing_bytes), and inside a long
        # form's length, 0x020E/0x0210/0x0211 included
        ("00000003 0011 00", LengthError),
        ("00000003 0010 000100", LengthError),
        ("00000003 020f 00", LengthError),
        ("00000003 0012 01 0000 0000 0000 00", LengthError),
        ("00000003 04 00 020f 00", LengthError),
        ("00000003 0b 00 0012 01 0000 0000 0000 00", LengthError),
        ("00000003 06 00 0210 0001 00", LengthError),
        ("00000003 05 00 0211 01 00", LengthError),
        ("00000003 0e 00 020e 01 00000001 0001 61 62", LengthError),
        # strings that are not UTF-8: invalid byte, lone surrogate, cut multibyte char
        ("00000003 020e 01 00000001 0001 ff", FieldError),
        ("00000003 020e 01 00000001 0003 eda080", FieldError),
        ("00000003 0012 01 0002 e4b8 0000 0000", FieldError),
        ("00000003 0012 01 0000 0001 80 0000", FieldError),
        ("00000003 0012 01 0000 0000 0002 c328", FieldError),
    ],
)
def test_malformed(hex_data: str, error: type[FrameError]) -> None:
    with pytest.raises(error):
        decode_frame(h(hex_data))


@pytest.mark.parametrize(
    ("hex_data", "frame"),
    [
        # protocol.md §3: GAgent reads these at fixed offsets and ignores what follows; real
        # 0x0211 pushes carry a u16 length + 22-character id after the firmware type (the
        # cloud's own bytes are in tests/vectors/frames.json).
        (
            "00000003 0211 01 0016 " + b"uNMdYrcV3YN6DZhQPc5ugW".hex(),
            OtaCheckNotification(FirmwareType.WIFI),
        ),
        ("00000003 0211 02 ff", OtaCheckNotification(FirmwareType.MCU)),
        ("00000003 0210 0102 0000", OnlineAppCount(0x0102)),
        ("00000003 020e 01 00000001 0001 61 62", OtaNotification(FirmwareType.WIFI, 1, "a")),
    ],
)
def test_cloud_short_forms_ignore_trailing_bytes(hex_data: str, frame: Frame) -> None:
    assert decode_frame(h(hex_data)) == frame
    # What is kept is the fields: the frame re-encodes without the ignored bytes.
    assert h(hex_data).startswith(encode_frame(frame))


def _long(body_hex: str) -> bytes:
    """A long-form frame with a correct one-byte length for flag + command + body."""
    rest = h("00" + body_hex)
    return HEADER + bytes([len(rest)]) + rest


def test_url_over_limit_on_the_wire() -> None:
    # protocol.md §6: URL over 512 bytes is rejected, even when the bytes are all there.
    ok = h("00000003 020e 01 00000001 0200") + b"u" * 512
    assert decode_frame(ok) == OtaNotification(FirmwareType.WIFI, 1, "u" * 512)
    bad = h("00000003 020e 01 00000001 0201") + b"u" * 513
    with pytest.raises(FieldError):
        decode_frame(bad)
    with pytest.raises(FieldError):  # declared length alone is enough
        decode_frame(h("00000003 020e 01 00000001 ffff"))


def test_device_log_over_limit_on_the_wire() -> None:
    # protocol.md §4/§6: decoding never truncates; an over-long declared length is an error.
    def frame(tag: bytes, source: bytes) -> bytes:
        return (
            h("00000003 0012 03")
            + len(tag).to_bytes(2)
            + tag
            + len(source).to_bytes(2)
            + source
            + h("0000")
        )

    assert decode_frame(frame(b"t" * 256, b"s" * 32)) == DeviceLog(
        LogLevel.INFO, "t" * 256, "s" * 32, ""
    )
    with pytest.raises(FieldError):
        decode_frame(frame(b"t" * 257, b""))
    with pytest.raises(FieldError):
        decode_frame(frame(b"", b"s" * 33))


@pytest.mark.parametrize("code", ["0090", "0091"])
def test_payload_over_limit_on_the_wire(code: str) -> None:
    for data in (
        h(f"00000003 838004 00 {code}") + bytes(MAX_PAYLOAD + 1),  # long form, length 65539
        h(f"00000003 {code}") + bytes(MAX_PAYLOAD + 1),
    ):
        with pytest.raises(FieldError):
            decode_frame(data)
    for code_sn in ("0093", "0094"):
        with pytest.raises(FieldError):
            decode_frame(h(f"00000003 {code_sn} 00000001") + bytes(MAX_PAYLOAD + 1))


@pytest.mark.parametrize(("frame", "long_hex", "short_hex"), VECTORS)
def test_truncated_at_every_cut(frame: Frame, long_hex: str, short_hex: str) -> None:
    long_form, short_form = h(long_hex), h(short_hex)
    passthrough = isinstance(frame, AppPassthrough | DevicePassthrough)
    sn_frame = isinstance(frame, AckedPassthrough | PassthroughAck)
    body = short_form[6:]
    for cut in range(len(short_form)):
        # Short form: every cut inside the header, command or a fixed field is a TruncatedError;
        # a passthrough payload runs to the end of the message, so cutting it stays valid.
        if passthrough and cut >= 6:
            continue
        if sn_frame and cut >= 10:
            continue
        with pytest.raises(TruncatedError):
            decode_frame(short_form[:cut])
    for cut in range(len(long_form)):
        # Long form cut without fixing the length: the declared length disagrees.
        with pytest.raises(TruncatedError if cut <= 4 else LengthError):
            decode_frame(long_form[:cut])
    for cut in range(len(body)):
        if passthrough or (sn_frame and cut >= 4):
            continue
        # Long form with a consistent length but a body too short for its fields.
        with pytest.raises(TruncatedError):
            decode_frame(_long(short_form[4:6].hex() + body[:cut].hex()))
