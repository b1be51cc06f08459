"""LAN frames and message bodies, byte for byte against protocol.md §8."""

import pytest

from custom_components.gizwits_device.protocol.frame_fields import (
    FieldError,
    FrameError,
    HeaderError,
    LengthError,
    TruncatedError,
    UnknownCommandError,
)
from custom_components.gizwits_device.protocol.frames import (
    AckedPassthrough,
    AppPassthrough,
    DevicePassthrough,
    PassthroughAck,
)
from custom_components.gizwits_device.protocol.lan import (
    MAX_LAN_FRAME,
    DeviceAnnouncement,
    DiscoveryReply,
    DiscoveryRequest,
    Heartbeat,
    HeartbeatReply,
    LanStreamDecoder,
    LoginReply,
    LoginRequest,
    ModuleInfo,
    ModuleInfoRequest,
    PasscodeReply,
    PasscodeRequest,
    StartupBroadcast,
    decode_lan_frame,
    encode_lan_frame,
)

DID = "A1b2C3d4E5f6G7h8I9j0Kl"
MAC = bytes.fromhex("5ccf7f0a1b2c")
PK = "0123456789abcdef0123456789abcdef"
H = bytes.fromhex("00000003")


def test_discovery_reply_matches_the_ph803w_capture() -> None:
    # protocol.md §8: a real PH-803W's 0x0004, including both NUL-terminated strings.
    expected = (
        H
        + bytes.fromhex("68 00 0004 0016")
        + DID.encode()
        + bytes.fromhex("0006")
        + MAC
        + bytes.fromhex("0000 0020")
        + PK.encode()
        + bytes.fromhex("0000000000000002")
        + b"api.gizwits.com:80\x00"
        + b"4.0.8\x00"
    )
    announcement = DeviceAnnouncement(DID, MAC, PK, mcu_attributes=bytes.fromhex("00" * 7 + "02"))
    assert encode_lan_frame(DiscoveryReply(announcement)) == expected
    assert decode_lan_frame(expected) == DiscoveryReply(announcement)
    # 0x0005 carries the same body (protocol.md §8 startup broadcast).
    broadcast = encode_lan_frame(StartupBroadcast(announcement))
    assert broadcast == expected[:6] + b"\x00\x05" + expected[8:]


def test_current_firmware_announcement_carries_both_soft_versions() -> None:
    """protocol.md §8: the WiFi soft version in the firmware field, the MCU soft version as a
    third NUL-terminated string (read also when a device leaves its NUL off)."""
    announcement = DeviceAnnouncement(
        DID,
        MAC,
        PK,
        wifi_firmware_version="04D30Q29",
        api_server="usapi.gizwits.com:80",
        gagent_version="4.1.4",
        mcu_soft_version="03030000",
    )
    body = announcement.to_body()
    assert body[32:42] == b"\x00\x0804D30Q29"
    assert body.endswith(b"usapi.gizwits.com:80\x004.1.4\x0003030000\x00")
    assert DeviceAnnouncement.from_body(body) == announcement
    assert DeviceAnnouncement.from_body(body[:-1]) == announcement
    with pytest.raises(FieldError):
        DeviceAnnouncement(DID, MAC, PK, mcu_soft_version="03\x00")


def test_old_gagent_announcement_without_strings_decodes() -> None:
    # GAgent releases before the API server/version strings end the body after the attributes.
    body = DeviceAnnouncement(DID, MAC, PK).to_body()
    short = body[: body.index(b"api.gizwits")]
    assert DeviceAnnouncement.from_body(short) == DeviceAnnouncement(
        DID, MAC, PK, "", bytes(8), "", ""
    )
    with pytest.raises(TruncatedError):
        DeviceAnnouncement.from_body(short + b"api.gizwits.com:80")  # no NUL
    with pytest.raises(TruncatedError):
        DeviceAnnouncement.from_body(short + b"api\x00")  # version missing
    with pytest.raises(LengthError):  # anything after the third string's NUL
        DeviceAnnouncement.from_body(body + b"03030000\x00x")
    with pytest.raises(FieldError):
        DeviceAnnouncement.from_body(body.replace(b"\x00\x06" + MAC, b"\x00\x05" + MAC[:5]))
    with pytest.raises(FieldError):
        DeviceAnnouncement.from_body(b"\x00\x01\xff" + body[24:])  # DID not ASCII


@pytest.mark.parametrize(
    ("message", "wire"),
    [
        # protocol.md §8 byte layouts
        (DiscoveryRequest(), "00000003 03 00 0003"),
        (PasscodeRequest(), "00000003 03 00 0006"),
        (PasscodeReply(b"ABCDEFGHIJ"), "00000003 0f 00 0007 000a 4142434445464748494a"),
        (PasscodeReply(), "00000003 05 00 0007 0000"),
        (LoginRequest(b"ABCDEFGHIJ"), "00000003 0f 00 0008 000a 4142434445464748494a"),
        (LoginReply(True), "00000003 04 00 0009 00"),
        (LoginReply(False), "00000003 04 00 0009 01"),
        (ModuleInfoRequest(), "00000003 03 00 0013"),
        (Heartbeat(), "00000003 03 00 0015"),
        (HeartbeatReply(), "00000003 03 00 0016"),
        (AckedPassthrough(4, b"\x02"), "00000003 08 00 0093 00000004 02"),
        (
            PassthroughAck(4, bytes.fromhex("0300 02dc 089d 0000 0000")),
            "00000003 11 00 0094 00000004 03 00 02dc 089d 0000 0000",
        ),
        (AppPassthrough(b"\x02"), "00000003 04 00 0090 02"),
        (DevicePassthrough(b"\x04\x01"), "00000003 05 00 0091 0401"),
    ],
)
def test_messages_byte_for_byte(message: object, wire: str) -> None:
    raw = bytes.fromhex(wire)
    assert encode_lan_frame(message) == raw  # type: ignore[arg-type]
    assert decode_lan_frame(raw) == message


def test_module_info_matches_the_esp8266_capture() -> None:
    # protocol.md §8: a real ESP8266's 0x0014.
    body = b"00ESP8260402003A000000010000000100000004" + bytes(8)
    body += bytes.fromhex("0000 0020") + PK.encode()
    raw = H + bytes((3 + len(body),)) + b"\x00\x00\x14" + body
    info = ModuleInfo(PK, "00ESP826", "0402003A", "00000001", "00000001", "00000004")
    assert encode_lan_frame(info) == raw
    assert decode_lan_frame(raw) == info


def test_requests_ignore_a_body() -> None:
    # GAgent never reads a request's body; apps that send one are still answered.
    assert decode_lan_frame(bytes.fromhex("00000003 05 00 0003 abcd")) == DiscoveryRequest()
    with pytest.raises(LengthError):
        decode_lan_frame(bytes.fromhex("00000003 04 00 0016 00"))  # replies have no body


def test_long_frames_use_a_multi_byte_varint() -> None:
    # protocol.md §8: frames of 128 bytes and more after the length use the varint.
    payload = bytes(range(256)) * 2
    raw = encode_lan_frame(DevicePassthrough(payload))
    assert raw[4:7] == bytes.fromhex("8304 00")  # 515 = 0x203 -> 83 04
    assert decode_lan_frame(raw) == DevicePassthrough(payload)


@pytest.mark.parametrize(
    ("wire", "error"),
    [
        ("00000002 03 00 0003", HeaderError),
        ("00000003", TruncatedError),
        ("00000003 80", TruncatedError),
        ("00000003 04 00 0003", LengthError),  # says 4, 3 follow
        ("00000003 03 00 0003 00", LengthError),  # trailing byte
        ("00000003 02 00 00", LengthError),  # shorter than flag + command
        ("00000003 8000 00 0003", LengthError),  # not minimal
        ("00000003 ffffffff01", LengthError),  # varint over 4 bytes
        ("00000003 ffff7f", LengthError),  # over the largest frame
        ("00000003 03 01 0003", FieldError),  # flag
        ("00000003 03 00 0017", UnknownCommandError),  # out of scope (protocol.md §8)
        ("00000003 03 00 0001", UnknownCommandError),  # SoftAP onboarding: out of scope
        ("00000003 04 00 0009 02", FieldError),  # login result
        ("00000003 05 00 0008 0002", TruncatedError),  # passcode shorter than its length
        ("00000003 05 00 0093 0000", TruncatedError),  # sn
        ("00000003 0b 00 0014 3030303030303030", TruncatedError),
    ],
)
def test_bad_frames_raise_typed_errors(wire: str, error: type[FrameError]) -> None:
    with pytest.raises(error):
        decode_lan_frame(bytes.fromhex(wire))


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: DeviceAnnouncement(DID, MAC[:5], PK), "mac"),
        (lambda: DeviceAnnouncement(DID, MAC, PK, mcu_attributes=b"\x00"), "mcu_attributes"),
        (lambda: DeviceAnnouncement("设备", MAC, PK), "ASCII"),
        (lambda: DeviceAnnouncement(DID, MAC, PK, api_server="a\x00b"), "NUL"),
        (lambda: DeviceAnnouncement("x" * 70000, MAC, PK), "limit"),
        (lambda: DeviceAnnouncement(b"did", MAC, PK), "str"),  # type: ignore[arg-type]
        (lambda: ModuleInfo(PK, wifi_hard_version="1"), "8 ASCII"),
        (lambda: ModuleInfo(PK, reserved=b""), "reserved"),
        (lambda: PasscodeReply("ABC"), "bytes"),  # type: ignore[arg-type]
    ],
)
def test_invalid_fields_are_refused(build: object, match: str) -> None:
    with pytest.raises(FieldError, match=match):
        build()  # type: ignore[operator]


# -- the stream decoder (protocol.md §8: several or partial frames per read) ---------------------


def _frames(decoder: LanStreamDecoder) -> list[bytes]:
    out = []
    while (raw := decoder.next_frame()) is not None:
        out.append(raw)
    return out


def test_several_frames_in_one_chunk_and_partial_frames() -> None:
    a = encode_lan_frame(Heartbeat())
    b = encode_lan_frame(LoginRequest(b"ABCDEFGHIJ"))
    c = encode_lan_frame(DevicePassthrough(bytes(300)))
    decoder = LanStreamDecoder()
    decoder.feed(a + b + c[:2])
    assert _frames(decoder) == [a, b]
    decoder.feed(c[2:5])  # header complete, varint split
    assert _frames(decoder) == []
    decoder.feed(c[5:-1])
    assert _frames(decoder) == []
    assert decoder.buffered == len(c) - 1
    decoder.feed(c[-1:])
    assert _frames(decoder) == [c]
    assert decoder.buffered == 0


def test_garbage_poisons_the_stream() -> None:
    decoder = LanStreamDecoder()
    decoder.feed(encode_lan_frame(Heartbeat()) + b"GET / HTTP/1.1\r\n")
    assert decoder.next_frame() == encode_lan_frame(Heartbeat())
    with pytest.raises(HeaderError):
        decoder.next_frame()
    # No resynchronisation: the connection must be closed.
    with pytest.raises(HeaderError):
        decoder.feed(encode_lan_frame(Heartbeat()))
    with pytest.raises(HeaderError):
        decoder.next_frame()


def test_a_partial_bad_header_is_detected_before_four_bytes() -> None:
    decoder = LanStreamDecoder()
    decoder.feed(b"\x00\x01")
    with pytest.raises(HeaderError):
        decoder.next_frame()


def test_buffer_is_bounded() -> None:
    decoder = LanStreamDecoder(max_buffer=64)
    decoder.feed(encode_lan_frame(DevicePassthrough(bytes(50)))[:60])
    with pytest.raises(LengthError):
        decoder.feed(bytes(10))
    with pytest.raises(LengthError):
        decoder.next_frame()
    assert LanStreamDecoder().buffered == 0
    # The default bound holds any valid frame plus a full read.
    big = encode_lan_frame(PassthroughAck(1, bytes(65535)))
    assert len(big) == MAX_LAN_FRAME
    decoder = LanStreamDecoder()
    decoder.feed(big[:-1])
    decoder.feed(big[-1:] + big[:4096])
    assert decoder.next_frame() == big
