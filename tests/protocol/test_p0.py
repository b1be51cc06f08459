"""Byte-exact P0 vectors, hand-derived from protocol.md §5 and the sources listed in p0_models.

Rules used below (each vector names the ones it exercises):
- ACT: action byte first; 0x01-0x06 standard, 0x11-0x14 var_len ([SDK] actionType_t, [GOKIT]).
- FLAGS: flags are one big-endian integer, bit i = i-th writable point (standard control) or
  i-th point (var_len), ceil(count / 8) bytes ([SDK] attrFlags_t / dataPointFlags_t +
  gizByteOrderExchange; [PET] dissector reads them BE, bit (count*8 - i) from the top).
- BITS: a bit region is one big-endian integer, point value at bits bit_offset..+len
  ([SDK] gizStandardCompressValue fills byte start + bit/8 little-end first, crossing into the
  next byte, then gizByteOrderExchange reverses regions over one byte).
- UINT: uint16/uint32 big-endian ([SDK] exchangeBytes / exchangeWord); raw = (y - m) / k,
  y = k * raw + m ([GOKIT] Y2X / X2Y).
- LAYOUT: standard status = sections writable | read-only | alert | fault at their byte_offsets;
  a control carries the writable section after the flags ([PET] dissector, [SDK] devStatus_t).
- VARLEN: flags, then flagged bit fields packed from bit 0 in id order, then flagged byte fields
  in id order ([SDK] var_len gizDataPoints2ReportData / gizDataPoint2Event).
"""

import math

import pytest

from custom_components.gizwits_device.protocol.p0 import P0Codec
from custom_components.gizwits_device.protocol.p0_messages import (
    Control,
    Direction,
    P0Action,
    P0ActionMismatchError,
    P0Error,
    P0FlagError,
    P0LengthError,
    P0Message,
    P0MissingValueError,
    P0PointError,
    P0ReadOnlyError,
    P0TruncatedError,
    P0UnknownActionError,
    P0UnknownPointError,
    P0ValueError,
    ReadReply,
    ReadRequest,
    StatusReport,
    TransparentData,
    Value,
)
from custom_components.gizwits_device.protocol.product import ProductModel

from .p0_models import BOILER, PET_HOUSE, WIDE_BITS, load

PLUG = P0Codec(load("smart_plug"))
LIGHT = P0Codec(load("dimmable_light"))
PET = P0Codec(ProductModel.from_json(PET_HOUSE))
WIDE = P0Codec(ProductModel.from_json(WIDE_BITS))
BOIL = P0Codec(ProductModel.from_json(BOILER))

PLUG_STATUS: dict[str, Value] = {
    "switch": True,
    "countdown": 30,
    "power": 1234.5,
    "energy": 1.23,
    "overload": False,
}

# (codec, message, hex) - checked both ways: encode(message) == bytes, decode(bytes) == message.
VECTORS: list[tuple[str, P0Codec, P0Message, str]] = [
    # ACT, FLAGS, LAYOUT; protocol.md §5. Plug: writable = switch (bit 0 of byte 0),
    # countdown (bytes 1-2) -> flags 1 byte, section 3 bytes.
    ("plug control switch", PLUG, Control({"switch": True}), "01 01 01 00 00"),
    # UINT: countdown 30 = 0x001e big-endian; flags bit 1.
    ("plug control countdown", PLUG, Control({"countdown": 30}), "01 02 00 00 1e"),
    # 1440 = 0x05a0; switch False still flagged (bit 0) with a 0 bit.
    (
        "plug control both",
        PLUG,
        Control({"switch": False, "countdown": 1440}),
        "01 03 00 05 a0",
    ),
    ("plug control nothing", PLUG, Control({}), "01 00 00 00 00"),
    ("plug read", PLUG, ReadRequest(), "02"),
    # LAYOUT: byte 0 bits (switch), 1-2 countdown, 3-4 power 1234.5/0.1 = 12345 = 0x3039,
    # 5-8 energy 1.23/0.01 = 123 = 0x0000007b, 9 alert bits (overload).
    ("plug read reply", PLUG, ReadReply(PLUG_STATUS), "03 01 00 1e 30 39 00 00 00 7b 00"),
    # energy max 999999.99 kWh -> raw 99999999 = 0x05f5e0ff; overload bit 0 of byte 9.
    (
        "plug report",
        PLUG,
        StatusReport(
            {"switch": False, "countdown": 0, "power": 0.0, "energy": 999999.99, "overload": True}
        ),
        "04 00 00 00 00 00 05 f5 e0 ff 01",
    ),
    (
        "transparent app->dev",
        PLUG,
        TransparentData(Direction.APP_TO_DEVICE, b"\x00\xff"),
        "05 00 ff",
    ),
    ("transparent dev->app", PLUG, TransparentData(Direction.DEVICE_TO_APP, b"hi"), "06 68 69"),
    ("transparent empty", LIGHT, TransparentData(Direction.DEVICE_TO_APP, b""), "06"),
    # [PET] real product. Writable: LED_OnOff bit 0, LED_Color bits 1-2, LED_R/G/B bytes 1-3,
    # Motor_Speed byte 4 (addition -5). Flags: bits 0, 1, 5 = 0x23. Region: 1 | Pink(3) << 1 = 0x07.
    # Motor_Speed shown 5 -> raw 5 - (-5) = 10.
    (
        "pet control",
        PET,
        Control({"LED_OnOff": True, "LED_Color": "Pink", "Motor_Speed": 5}),
        "01 23 07 00 00 00 0a",
    ),
    # [PET] report: Yellow(1) << 1 = 0x02; R 254, G 0, B 16; Motor -5 -> 0; Infrared byte 5 bit 0;
    # Temperature 25 -> 25 + 13 = 38 = 0x26; Humidity 60 = 0x3c; Alert_2 bit 1 of byte 8;
    # Fault_Motor, Fault_IR bits 1, 3 of byte 9 = 0x0a.
    (
        "pet report",
        PET,
        StatusReport(
            {
                "LED_OnOff": False,
                "LED_Color": "Yellow",
                "LED_R": 254,
                "LED_G": 0,
                "LED_B": 16,
                "Motor_Speed": -5,
                "Infrared": True,
                "Temperature": 25,
                "Humidity": 60,
                "Alert_1": False,
                "Alert_2": True,
                "Fault_LED": False,
                "Fault_Motor": True,
                "Fault_TemHum": False,
                "Fault_IR": True,
            }
        ),
        "04 02 fe 00 10 00 01 26 3c 02 0a",
    ),
    # BITS across bytes: writable region = 2 bytes. a0 is bit 0 -> last byte.
    ("wide a0", WIDE, Control({"a0": True}), "01 00 01 00 01 00"),
    # level (bits 7-8) = high(3): bits 7 and 8 -> 0x0180. Per [SDK]: low bit to byte 0 bit 7
    # (0x80), high bit to byte 1 bit 0 (0x01), region [80 01] reversed -> [01 80].
    # Flags: 9 writable -> 2 bytes, level is writable #7 -> 0x0080.
    ("wide level crossing", WIDE, Control({"level": "high"}), "01 00 80 01 80 00"),
    # b0 at bit 9 -> 0x0200; flag #8 -> 0x0100; speed (#9) not flagged.
    ("wide b0", WIDE, Control({"b0": True}), "01 01 00 02 00 00"),
    # uint8 speed (#9) flag 0x0200 -> 2 flag bytes "02 00"; byte 2 of the section.
    ("wide speed", WIDE, Control({"speed": 200}), "01 02 00 00 00 c8"),
    # VARLEN, FLAGS over all 5 light points (1 byte); on_off -> bit section 1 byte = 0x01.
    ("light control on", LIGHT, Control({"on_off": True}), "11 01 01"),
    # No bit field flagged -> no bit section; brightness 80 = 0x50.
    ("light control brightness", LIGHT, Control({"brightness": 80}), "11 02 50"),
    # color_temp (#2) and mode (#3): flags 0x0c; bits: mode party(3) -> 0x03;
    # color_temp 6500 - 2700 = 3800 = 0x0ed8.
    (
        "light control mode+temp",
        LIGHT,
        Control({"color_temp": 6500, "mode": "party"}),
        "11 0c 03 0e d8",
    ),
    ("light read named", LIGHT, ReadRequest(("brightness", "lamp_fault")), "12 12"),
    ("light read none", LIGHT, ReadRequest(()), "12 00"),
    # lamp_fault (#4, bit field) + brightness (#1): flags 0x12; bits: lamp_fault at bit 0.
    (
        "light read reply",
        LIGHT,
        ReadReply({"brightness": 5, "lamp_fault": True}),
        "13 12 01 05",
    ),
    # All flagged: bits on_off(bit 0)=1 | night(2) << 1 | lamp_fault(bit 3) = 0x0d; then
    # brightness 0x50, color_temp 4000 - 2700 = 1300 = 0x0514.
    (
        "light report",
        LIGHT,
        StatusReport(
            {
                "on_off": True,
                "brightness": 80,
                "color_temp": 4000,
                "mode": "night",
                "lamp_fault": True,
            }
        ),
        "14 1f 0d 50 05 14",
    ),
    # [VSMART]-like: Room_Setpoint 20.5 -> (20.5 - 5) / 0.5 = 31 = 0x1f; flag #3 = 0x08.
    ("boiler setpoint", BOIL, Control({"Room_Setpoint": 20.5}), "11 08 1f"),
    # 8 points -> 1 flag byte. Bits: Heating_Enable bit 0, Brand (3 bits) at 1-3, DHW_Function
    # (2 bits) at 4-5, Burner_Fault bit 6: 1 | 6 << 1 | 3 << 4 | 1 << 6 = 0x7d.
    # Bytes: Heating_Curve 2.5 / 0.1 = 25; Room_Setpoint 30 -> 50; Flow_Temp 45.5 -> 655 = 0x028f;
    # Serial 3 raw bytes.
    (
        "boiler report",
        BOIL,
        StatusReport(
            {
                "Heating_Enable": True,
                "Brand": "b6",
                "Heating_Curve": 2.5,
                "Room_Setpoint": 30.0,
                "Flow_Temp": 45.5,
                "DHW_Function": "unset",
                "Serial": b"\x01\x02\x03",
                "Burner_Fault": True,
            }
        ),
        "14 ff 7d 19 32 02 8f 01 02 03",
    ),
]


@pytest.mark.parametrize(
    ("codec", "message", "hexbytes"),
    [(c, m, h) for _, c, m, h in VECTORS],
    ids=[i for i, _, _, _ in VECTORS],
)
def test_vectors(codec: P0Codec, message: P0Message, hexbytes: str) -> None:
    payload = bytes.fromhex(hexbytes)
    assert codec.encode(message) == payload
    assert codec.decode(payload) == message


def test_wide_read_only_16_bit_region() -> None:
    # [SDK] generated header: DI8 at BYTEOFFSET 22 / BITOFFSET 7, DI9 at 23 / 8 in a 2-byte region;
    # after gizByteOrderExchange DI9 lands in bit 0 of the region's first byte (BITS, LAYOUT).
    # Wide status: bytes 0-1 writable bits, 2 speed, 3-4 DI bits, 5-8 counter, 9-12 blob.
    base: dict[str, Value] = {p.name: False for p in WIDE.model.points}
    status: dict[str, Value] = base | {
        "level": "off",
        "speed": 0,
        "counter": 0x01020304,
        "blob": b"abcd",
        "DI9": True,
        "DI1": True,
    }
    payload = WIDE.encode(StatusReport(status))
    assert payload.hex(" ") == "04 00 00 00 01 01 01 02 03 04 61 62 63 64"
    assert WIDE.decode(payload) == StatusReport(status)


def test_decoded_values_have_shown_types() -> None:
    message = PLUG.decode(bytes.fromhex("03 01 00 1e 30 39 00 00 00 7b 00"))
    assert isinstance(message, ReadReply)
    values = message.values
    assert values["switch"] is True
    assert type(values["countdown"]) is int
    assert type(values["power"]) is float
    assert list(values) == ["switch", "countdown", "power", "energy", "overload"]


def test_unflagged_control_bytes_are_ignored() -> None:
    # LAYOUT: only flagged points are applied; countdown's bytes (0xffff, out of range) are not.
    assert PLUG.decode(bytes.fromhex("01 01 01 ff ff")) == Control({"switch": True})


def test_values_equal_regardless_of_order_and_frozen() -> None:
    assert Control({"a": 1, "b": 2}) == Control({"b": 2, "a": 1})
    message = Control({"a": 1})
    with pytest.raises(TypeError):
        message.values["a"] = 2  # type: ignore[index]


def test_action_enum() -> None:
    # ACT: [SDK] actionType_t values.
    assert [int(a) for a in P0Action] == [1, 2, 3, 4, 5, 6, 0x11, 0x12, 0x13, 0x14]


def test_varlen_read_all() -> None:
    # VARLEN: ReadRequest() (None = every point) sets every flag; decoding names them all.
    assert LIGHT.encode(ReadRequest()) == bytes.fromhex("12 1f")
    names = ("on_off", "brightness", "color_temp", "mode", "lamp_fault")
    assert LIGHT.decode(bytes.fromhex("12 1f")) == ReadRequest(names)


def test_rounding_to_the_nearest_step() -> None:
    # UINT: 1234.56 W / 0.1 = 12345.6 -> 12346 (nearest step; the SDK would truncate).
    payload = PLUG.encode(StatusReport(PLUG_STATUS | {"power": 1234.56}))
    assert payload[4:6] == bytes.fromhex("30 3a")


# --- decode errors -----------------------------------------------------------------------------

DECODE_ERRORS: list[tuple[str, P0Codec, str, type[P0Error], str]] = [
    ("empty", PLUG, "", P0TruncatedError, "empty P0 payload"),
    ("unknown action 0x00", PLUG, "00", P0UnknownActionError, "unknown P0 action 0x00"),
    ("unknown action 0x07", PLUG, "07 00", P0UnknownActionError, "unknown P0 action 0x07"),
    ("unknown action 0xff", LIGHT, "ff", P0UnknownActionError, "unknown P0 action 0xff"),
    ("var_len action on standard", PLUG, "11 01 01", P0ActionMismatchError, "action 0x11 is for"),
    ("standard action on var_len", LIGHT, "04 00", P0ActionMismatchError, "action 0x04 is for"),
    ("control truncated", PLUG, "01 01 01 00", P0TruncatedError, "control needs 4 bytes"),
    ("control too long", PLUG, "01 01 01 00 00 00", P0LengthError, "control is 4 bytes"),
    ("read with body", PLUG, "02 00", P0LengthError, "read request is 0 bytes"),
    ("status truncated", PLUG, "04 00", P0TruncatedError, "status needs 10 bytes"),
    ("control flag beyond", PLUG, "01 04 00 00 00", P0FlagError, "flag bit 2 is set"),
    ("countdown out of range", PLUG, "01 02 00 05 a1", P0ValueError, '"countdown": raw value'),
    ("power out of range", PLUG, "04 00 00 00 9c 41 00 00 00 00 00", P0ValueError, '"power"'),
    ("pet enum fine, motor high", PET, "01 20 00 00 00 00 0b", P0ValueError, '"Motor_Speed"'),
    ("varlen no flags", LIGHT, "14", P0TruncatedError, "flags need 1 bytes"),
    ("varlen flag beyond", LIGHT, "14 20", P0FlagError, "flag bit 5 is set"),
    ("varlen truncated", LIGHT, "14 1f 0d 50 05", P0TruncatedError, "needs 5 bytes"),
    ("varlen too long", LIGHT, "14 02 50 00", P0LengthError, "is 2 bytes"),
    ("varlen read too long", LIGHT, "12 1f 00", P0LengthError, "read request is 1 bytes"),
    ("varlen control read-only", LIGHT, "11 10 01", P0ReadOnlyError, '"lamp_fault": is fault'),
    ("varlen brightness 101", LIGHT, "14 02 65", P0ValueError, '"brightness": raw value 101'),
    ("varlen enum index", BOIL, "14 02 07", P0ValueError, '"Brand": enum index 7 is not one of 7'),
]


@pytest.mark.parametrize(
    ("codec", "hexbytes", "error", "message"),
    [(c, h, e, m) for _, c, h, e, m in DECODE_ERRORS],
    ids=[i for i, *_ in DECODE_ERRORS],
)
def test_decode_errors(codec: P0Codec, hexbytes: str, error: type[P0Error], message: str) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(")) as info:
        codec.decode(bytes.fromhex(hexbytes))
    assert isinstance(info.value, ValueError)


def test_error_attributes() -> None:
    with pytest.raises(P0UnknownActionError) as unknown:
        PLUG.decode(b"\x42")
    assert unknown.value.action == 0x42
    with pytest.raises(P0ValueError) as bad:
        PLUG.decode(bytes.fromhex("01 02 00 ff ff"))
    assert bad.value.point == "countdown"
    assert isinstance(bad.value, P0PointError)
    assert issubclass(P0TruncatedError, P0LengthError)


# --- encode errors -----------------------------------------------------------------------------

ENCODE_ERRORS: list[tuple[str, P0Codec, P0Message, type[P0Error], str]] = [
    ("control read-only", PLUG, Control({"power": 1.0}), P0ReadOnlyError, '"power": is status_'),
    ("control unknown", PLUG, Control({"nope": 1}), P0UnknownPointError, '"nope": no such'),
    ("varlen control read-only", LIGHT, Control({"lamp_fault": True}), P0ReadOnlyError, "fault"),
    ("bool given int", PLUG, Control({"switch": 1}), P0ValueError, "expects a bool, got int"),
    ("uint given bool", PLUG, Control({"countdown": True}), P0ValueError, "expects a number"),
    ("uint given str", PLUG, Control({"countdown": "5"}), P0ValueError, "expects a number"),
    ("uint too big", PLUG, Control({"countdown": 1441}), P0ValueError, "out of range 0..1440"),
    ("uint negative", PLUG, Control({"countdown": -1}), P0ValueError, "out of range"),
    ("uint nan", PLUG, Control({"countdown": math.nan}), P0ValueError, "not a finite number"),
    ("uint inf", PLUG, Control({"countdown": math.inf}), P0ValueError, "not a finite number"),
    ("shown below addition", LIGHT, Control({"color_temp": 2699}), P0ValueError, "2700..6500"),
    ("enum unknown option", LIGHT, Control({"mode": "disco"}), P0ValueError, "'disco' is not"),
    ("enum given index", LIGHT, Control({"mode": 1}), P0ValueError, "is not one of"),
    ("binary wrong type", BOIL, StatusReport({"Serial": "abc"}), P0ValueError, "expects bytes"),
    ("binary wrong size", BOIL, StatusReport({"Serial": b"ab"}), P0ValueError, "expects 3 bytes"),
    ("status unknown", LIGHT, StatusReport({"nope": 1}), P0UnknownPointError, '"nope"'),
    ("standard status missing", PLUG, StatusReport({}), P0MissingValueError, '"switch"'),
    ("standard read names", PLUG, ReadRequest(("switch",)), P0ActionMismatchError, "whole status"),
    ("varlen read unknown", LIGHT, ReadRequest(("nope",)), P0UnknownPointError, '"nope"'),
]


@pytest.mark.parametrize(
    ("codec", "message", "error", "text"),
    [(c, m, e, t) for _, c, m, e, t in ENCODE_ERRORS],
    ids=[i for i, *_ in ENCODE_ERRORS],
)
def test_encode_errors(codec: P0Codec, message: P0Message, error: type[P0Error], text: str) -> None:
    with pytest.raises(error, match=text.replace(".", r"\.")):
        codec.encode(message)


def test_binary_accepts_bytearray() -> None:
    # Not a declared Value type, but accepted at run time (callers may hold bytearrays).
    payload = BOIL.encode(StatusReport({"Serial": bytearray(b"xyz")}))  # type: ignore[dict-item]
    assert payload == bytes.fromhex("14 40 78 79 7a")
    assert BOIL.decode(payload) == StatusReport({"Serial": b"xyz"})


def test_encode_rejects_a_non_message() -> None:
    with pytest.raises(AssertionError):
        PLUG.encode("nope")  # type: ignore[arg-type]


def test_product_without_writable_points() -> None:
    # FLAGS: zero writable points -> zero flag bytes and an empty section.
    from .p0_models import R, attr, product

    codec = P0Codec(ProductModel.from_json(product([attr(0, "t", "uint8", R, spec=(0, 9, 1, 0))])))
    assert codec.encode(Control({})) == b"\x01"
    assert codec.decode(b"\x01") == Control({})
    assert codec.encode(StatusReport({"t": 9})) == b"\x04\x09"


def test_package_exports() -> None:
    from custom_components.gizwits_device import protocol

    for name in ("P0Codec", "P0Action", "P0Error", "Control", "ProductModel", "DataPoint"):
        assert name in protocol.__all__
        assert getattr(protocol, name) is not None
