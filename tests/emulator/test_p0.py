"""The emulator's own P0 codec (emulator/p0.py) against the golden vectors and its own rules.

The emulator is an independent witness (issue 12): its codec is written apart from the
integration's, and both are held to tests/vectors/p0.json (the integration's in
tests/protocol/test_vectors.py), so a P0 mistake on either side fails a test instead of being
mirrored. protocol.md §5 (layout, both bit layouts, variable length), §6 (bad input).
"""

from __future__ import annotations

import contextlib
import copy
import math
from typing import Any

from hypothesis import given, strategies as st
import pytest

from emulator.p0 import (
    Control,
    DataPointCodec,
    P0Error,
    P0Message,
    ReadReply,
    ReadRequest,
    StatusReport,
    Transparent,
)
from emulator.product import ProductError, read_product
from tests.vectors import Vector, p0_vectors, product_text, vector_value

from .p0_products import CODECS, DEFINITIONS, names, some_values, status_values

VECTORS = p0_vectors()
KINDS: dict[str, type[Control | ReadReply | StatusReport]] = {
    "Control": Control,
    "ReadReply": ReadReply,
    "StatusReport": StatusReport,
}
PLUG = CODECS["smart_plug"]
LIGHT = CODECS["dimmable_light"]
BOILER = CODECS["boiler"]


def _message(vector: Vector) -> P0Message:
    values = vector.expected["values"]
    if vector.expected["message"] == "ReadRequest":
        assert values is None
        return ReadRequest()
    kind = KINDS[vector.expected["message"]]
    return kind({name: vector_value(value) for name, value in values.items()})


def _codec(vector: Vector) -> DataPointCodec:
    return DataPointCodec.from_definition(product_text(vector.expected["product"]))


def _types(message: P0Message) -> dict[str, type]:
    return {k: type(v) for k, v in getattr(message, "values", {}).items()}


# -- golden vectors, both directions ---------------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS, ids=[v.name for v in VECTORS])
def test_decodes_each_vector(vector: Vector) -> None:
    """§5: each real or derived payload reads as the message its source documents; 205 mV
    stays an int, pH 7.32 a float, a switch a bool."""
    decoded = _codec(vector).decode(vector.data)
    assert decoded == _message(vector)
    assert _types(decoded) == _types(_message(vector))


@pytest.mark.parametrize("vector", VECTORS, ids=[v.name for v in VECTORS])
def test_encodes_each_vector(vector: Vector) -> None:
    """§5: the message writes back byte for byte."""
    codec = _codec(vector)
    assert codec.encode(_message(vector)) == vector.data
    assert codec.encode(codec.decode(vector.data)) == vector.data


def test_vectors_cover_both_layouts_and_every_direction() -> None:
    """The vectors exercise what the codec must get right: both bit layouts, regions of 9, 12
    and 21 bits, controls (app -> device) and reads/reports (device -> app)."""
    products = {v.expected["product"] for v in VECTORS}
    assert {"jebao_wave_maker", "jebao_doser", "jebao_doser_wifi_ble", "tree18_light"} <= products
    assert {v.expected["message"] for v in VECTORS} == {*KINDS, "ReadRequest"}


# -- the two bit layouts (§5) ----------------------------------------------------------------


def _relayout(definition: dict[str, Any], form: str) -> dict[str, Any]:
    """The same product with every bit field's byte_offset in `form` ("console": the region's
    start; "header": start + bit_offset // 8)."""
    changed = copy.deepcopy(definition)
    for attr in changed["entities"][0]["attrs"]:
        position = attr["position"]
        if position["unit"] == "bit":
            # Every region in these products starts at the byte of its bit 0.
            start = min(
                a["position"]["byte_offset"]
                for a in definition["entities"][0]["attrs"]
                if a["type"] == attr["type"] and a["position"]["unit"] == "bit"
            )
            shift = position["bit_offset"] // 8 if form == "header" else 0
            position["byte_offset"] = start + shift
    return changed


@pytest.mark.parametrize(
    ("name", "other_form"),
    [
        ("jebao_doser", "header"),
        ("jebao_doser_wifi_ble", "header"),
        ("tree18_light", "console"),
    ],
)
def test_both_bit_layouts_read_the_same(name: str, other_form: str) -> None:
    """§5: a console export (byte_offset at the region's start, bit_offset across it) and the
    MCU SDK header form (byte_offset = start + bit_offset // 8) describe the same bytes."""
    original = read_product(DEFINITIONS[name])
    relaid = read_product(_relayout(DEFINITIONS[name], other_form))
    assert relaid == original
    assert _relayout(DEFINITIONS[name], other_form) != DEFINITIONS[name]  # the test changes it


def test_a_mix_of_both_layouts_is_read() -> None:
    """§5: each bit field is read in whichever form fits it."""
    mixed = copy.deepcopy(DEFINITIONS["jebao_doser_wifi_ble"])
    for attr in mixed["entities"][0]["attrs"]:
        if attr["name"] in ("channe8", "CALSet"):  # bits 8 and 18-20 in header form
            attr["position"]["byte_offset"] = attr["position"]["bit_offset"] // 8
    assert read_product(mixed) == read_product(DEFINITIONS["jebao_doser_wifi_ble"])


def test_a_byte_offset_fitting_neither_layout_is_refused() -> None:
    """§5: only a byte_offset that fits neither reading is refused, naming the point."""
    broken = copy.deepcopy(DEFINITIONS["jebao_doser"])
    for attr in broken["entities"][0]["attrs"]:
        if attr["name"] == "Timer4ON":  # bit 8: byte 0 or byte 1 are fine, 2 is neither
            attr["position"]["byte_offset"] = 2
    with pytest.raises(ProductError, match=r"'Timer4ON': byte_offset 2 is neither"):
        read_product(broken)


def test_bit_zero_of_a_wide_region_is_in_its_last_byte() -> None:
    """§5: a 21-bit region is one big-endian integer; the first switch sets its last byte."""
    codec = CODECS["jebao_doser_wifi_ble"]
    payload = codec.encode(Control({"switch": True}))
    flags, section = payload[1:6], payload[6:]
    assert flags == bytes.fromhex("0000000001")
    assert section[:3] == bytes.fromhex("000001")


# -- variable length (§5), derived by hand from the rules ------------------------------------

VARIABLE: list[tuple[str, DataPointCodec, P0Message, str]] = [
    # Flags over all 5 points (1 byte); on_off is point 0 and the only bit field: 1 byte 01.
    ("control on", LIGHT, Control({"on_off": True}), "11 01 01"),
    # No bit field flagged, so no bit bytes; brightness 80.
    ("control brightness", LIGHT, Control({"brightness": 80}), "11 02 50"),
    # color_temp (point 2) and mode (3): flags 0c; bits: mode party = 3 from bit 0; then
    # color_temp 6500 - addition 2700 = 3800 = 0e d8.
    (
        "control mode and temp",
        LIGHT,
        Control({"color_temp": 6500, "mode": "party"}),
        "11 0c 03 0e d8",
    ),
    (
        "read all",
        LIGHT,
        ReadRequest(("on_off", "brightness", "color_temp", "mode", "lamp_fault")),
        "12 1f",
    ),
    ("read two", LIGHT, ReadRequest(("brightness", "lamp_fault")), "12 12"),
    ("read none", LIGHT, ReadRequest(()), "12 00"),
    # brightness (1) + lamp_fault (4): flags 12; bits: lamp_fault at bit 0; then brightness 5.
    ("read reply", LIGHT, ReadReply({"brightness": 5, "lamp_fault": True}), "13 12 01 05"),
    # All: bits on_off (0) | night 2 << 1 | lamp_fault << 3 = 0d; brightness 50; 4000 - 2700.
    (
        "report",
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
    # Room_Setpoint (point 3) 20.5 -> (20.5 - 5) / 0.5 = 31.
    ("fractional ratio", BOILER, Control({"Room_Setpoint": 20.5}), "11 08 1f"),
    # Serial (point 6), 3 raw bytes.
    ("binary", BOILER, StatusReport({"Serial": b"xyz"}), "14 40 78 79 7a"),
]


@pytest.mark.parametrize(
    ("codec", "message", "hexbytes"),
    [case[1:] for case in VARIABLE],
    ids=[case[0] for case in VARIABLE],
)
def test_variable_length(codec: DataPointCodec, message: P0Message, hexbytes: str) -> None:
    """§5: flags over all points, then the flagged bit fields packed from bit 0, then the
    flagged byte fields, each in id order."""
    assert codec.encode(message) == bytes.fromhex(hexbytes)
    assert codec.decode(bytes.fromhex(hexbytes)) == message


def test_a_variable_read_of_everything_names_every_point() -> None:
    assert LIGHT.encode(ReadRequest()) == bytes.fromhex("12 1f")


def test_transparent_data_passes_untouched() -> None:
    """§5: 0x05 / 0x06 carry bytes P0 does not interpret, in both product kinds."""
    for codec in (PLUG, LIGHT):
        for action in (0x05, 0x06):
            message = Transparent(action, b"\x00\xffraw")
            assert codec.decode(codec.encode(message)) == message
    with pytest.raises(P0Error, match="action 5 or 6"):
        PLUG.encode(Transparent(0x07, b""))


# -- properties ------------------------------------------------------------------------------


@given(st.data())
def test_status_round_trip(data: st.DataObject) -> None:
    """§5: any valid status reads back as written, as a report and as a read reply."""
    codec = CODECS[data.draw(names)]
    values = data.draw(status_values(codec.product))
    for kind in (StatusReport, ReadReply):
        message = kind(values)
        payload = codec.encode(message)
        assert codec.decode(payload) == message
        assert _types(codec.decode(payload)) == _types(message)


@given(st.data())
def test_control_round_trip(data: st.DataObject) -> None:
    """§5: a control of any writable subset reads back with exactly those points."""
    codec = CODECS[data.draw(names)]
    values = data.draw(some_values(codec.product.writable))
    payload = codec.encode(Control(values))
    assert codec.decode(payload) == Control(values)


@given(st.data())
def test_a_fixed_control_changes_only_its_flagged_points(data: st.DataObject) -> None:
    """§5: a standard control carries the whole writable section; unflagged bytes are not
    read, whatever they hold."""
    codec = CODECS[data.draw(st.sampled_from(["smart_plug", "jebao_wave_maker", "tree18_light"]))]
    values = data.draw(some_values(codec.product.writable))
    payload = bytearray(codec.encode(Control(values)))
    flag_bytes = -(-len(codec.product.writable) // 8)
    if not values:
        payload[1 + flag_bytes :] = data.draw(
            st.binary(min_size=codec.product.control_bytes, max_size=codec.product.control_bytes)
        )
    assert codec.decode(bytes(payload)) == Control(values)


@given(st.data())
def test_decoder_fuzz_raises_only_p0_error(data: st.DataObject) -> None:
    """§6: arbitrary bytes decode or raise P0Error (a ValueError), never another exception."""
    codec = CODECS[data.draw(names)]
    action = data.draw(
        st.sampled_from([0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x11, 0x12, 0x13, 0x14, 0xFF])
    )
    size = max(codec.product.status_bytes, 8) + 8
    payload = bytes([action]) + data.draw(st.binary(max_size=size))
    try:
        message = codec.decode(payload)
    except P0Error:
        return
    else:
        assert codec.decode(codec.encode(message)) == message


@given(st.binary(max_size=64))
def test_empty_and_random_payloads(payload: bytes) -> None:
    for codec in (PLUG, LIGHT):
        with contextlib.suppress(P0Error):
            codec.decode(payload)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 1000) | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=30,
)


@given(st.data())
def test_definition_fuzz_raises_only_product_error(data: st.DataObject) -> None:
    """§6: a definition from a file or the network is read or refused with ProductError."""
    definition = copy.deepcopy(
        DEFINITIONS[data.draw(st.sampled_from(["smart_plug", "pet_house", "boiler"]))]
    )
    attrs = definition["entities"][0]["attrs"]
    attr = attrs[data.draw(st.integers(0, len(attrs) - 1))]
    key = data.draw(
        st.sampled_from(["data_type", "type", "position", "uint_spec", "enum", "name", "id"])
    )
    target = attr
    if key == "position":
        target = attr["position"]
        key = data.draw(st.sampled_from(["byte_offset", "bit_offset", "len", "unit"]))
    target[key] = data.draw(json_values)
    try:
        product = read_product(definition)
    except ProductError:
        return
    codec = DataPointCodec(product)
    values = data.draw(status_values(product))
    assert codec.decode(codec.encode(StatusReport(values))) == StatusReport(values)


@pytest.mark.parametrize(
    "text", ["", "[]", "{", '{"entities": []}', '{"entities": [{"attrs": 3}]}', b"\xff"]
)
def test_unreadable_definitions(text: str | bytes) -> None:
    with pytest.raises(ProductError):
        read_product(text)


# -- bad input -------------------------------------------------------------------------------

DECODE_ERRORS: list[tuple[str, DataPointCodec, str, str]] = [
    ("empty", PLUG, "", "empty payload"),
    ("unknown action", PLUG, "07", "action 0x07"),
    ("variable action on a fixed product", PLUG, "11 01 01", "action 0x11"),
    ("fixed action on a variable product", LIGHT, "04 00", "action 0x04"),
    ("control short", PLUG, "01 01 01 00", "control after the action: 4 bytes expected, got 3"),
    (
        "control long",
        PLUG,
        "01 01 01 00 00 00",
        "control after the action: 4 bytes expected, got 5",
    ),
    ("read with a body", PLUG, "02 00", "no body"),
    ("status short", PLUG, "04 00", "status after the action: 10 bytes expected, got 1"),
    ("flag beyond the writable points", PLUG, "01 04 00 00 00", "flags 0x4"),
    ("raw above the spec", PLUG, "01 02 00 05 a1", "countdown: raw 1441"),
    ("enum index beyond the options", BOILER, "14 02 07", "index 7"),
    ("variable flags missing", LIGHT, "14", "flags are 1 bytes"),
    ("variable flag beyond", LIGHT, "14 20", "flags 0x20"),
    (
        "variable body short",
        LIGHT,
        "14 1f 0d 50 05",
        "values after the flags: 4 bytes expected, got 3",
    ),
    ("variable read with values", LIGHT, "12 1f 00", "only its flags"),
    ("variable control of a fault", LIGHT, "11 10 01", "lamp_fault: a fault point"),
]


@pytest.mark.parametrize(
    ("codec", "hexbytes", "text"),
    [case[1:] for case in DECODE_ERRORS],
    ids=[case[0] for case in DECODE_ERRORS],
)
def test_decode_errors(codec: DataPointCodec, hexbytes: str, text: str) -> None:
    with pytest.raises(P0Error, match=text) as info:
        codec.decode(bytes.fromhex(hexbytes))
    assert isinstance(info.value, ValueError)  # typed, and a ValueError to callers


ENCODE_ERRORS: list[tuple[str, DataPointCodec, P0Message, str]] = [
    ("control of a read-only point", PLUG, Control({"power": 1.0}), "power: a status_readonly"),
    ("unknown point", PLUG, Control({"nope": 1}), "'nope': the product has no such point"),
    ("bool given an int", PLUG, Control({"switch": 1}), "True or False"),
    ("number given a bool", PLUG, Control({"countdown": True}), "finite number"),
    ("number given text", PLUG, Control({"countdown": "5"}), "finite number"),
    ("nan", PLUG, Control({"countdown": math.nan}), "finite number"),
    ("above the spec", PLUG, Control({"countdown": 1441}), r"outside 0\.\.1440"),
    ("below the addition", LIGHT, Control({"color_temp": 2699}), r"outside 2700\.\.6500"),
    ("unknown option", LIGHT, Control({"mode": "disco"}), "'disco' is none of"),
    ("enum given an index", LIGHT, Control({"mode": 1}), "is none of"),
    ("binary given text", BOILER, StatusReport({"Serial": "abc"}), "3 raw bytes"),
    ("binary of the wrong size", BOILER, StatusReport({"Serial": b"ab"}), "3 raw bytes"),
    ("fixed status missing points", PLUG, StatusReport({"switch": True}), "missing"),
    ("fixed read of names", PLUG, ReadRequest(("switch",)), "whole status"),
    ("variable read of an unknown point", LIGHT, ReadRequest(("nope",)), "'nope'"),
    ("huge number", PLUG, Control({"countdown": 1e300}), "countdown"),
]


@pytest.mark.parametrize(
    ("codec", "message", "text"),
    [case[1:] for case in ENCODE_ERRORS],
    ids=[case[0] for case in ENCODE_ERRORS],
)
def test_encode_errors(codec: DataPointCodec, message: P0Message, text: str) -> None:
    with pytest.raises(P0Error, match=text):
        codec.encode(message)


def test_encode_refuses_what_is_not_a_message() -> None:
    with pytest.raises(P0Error, match="not a P0 message"):
        PLUG.encode("nope")  # type: ignore[arg-type]
    with pytest.raises(P0Error, match="not a P0 message"):
        LIGHT.encode("nope")  # type: ignore[arg-type]


def test_shown_values_round_to_the_nearest_step() -> None:
    """§5: x = (y - addition) / ratio, to the nearest raw step."""
    report = PLUG.encode(
        StatusReport(
            {"switch": False, "countdown": 0, "power": 1234.56, "energy": 0.0, "overload": False}
        )
    )
    assert report[4:6] == (12346).to_bytes(2, "big")


PRODUCT_ERRORS: list[tuple[str, str, Any, str]] = [
    ("unknown data type", "data_type", "float", "unknown data_type"),
    ("unknown access", "type", "status_hidden", "unknown type"),
    ("no name", "name", "", "has no name"),
    ("bool in bytes", "position", {"byte_offset": 0, "unit": "byte", "len": 1}, "is a bit field"),
    ("no position", "position", None, "no position"),
    ("bad unit", "position", {"byte_offset": 0, "unit": "nibble", "len": 1}, "bit or byte"),
    ("zero length", "position", {"byte_offset": 0, "unit": "bit", "len": 0}, "positive"),
    ("id not a number", "id", "zero", "id must be"),
]


@pytest.mark.parametrize(
    ("key", "value", "text"),
    [case[1:] for case in PRODUCT_ERRORS],
    ids=[case[0] for case in PRODUCT_ERRORS],
)
def test_product_errors(key: str, value: Any, text: str) -> None:
    definition = copy.deepcopy(DEFINITIONS["smart_plug"])
    definition["entities"][0]["attrs"][0][key] = value  # switch, a writable bool
    with pytest.raises(ProductError, match=text):
        read_product(definition)


def test_product_layout_errors() -> None:
    plug = DEFINITIONS["smart_plug"]
    overlapping = copy.deepcopy(plug)
    overlapping["entities"][0]["attrs"][2]["position"]["byte_offset"] = 4  # power over energy
    with pytest.raises(ProductError, match="overlap"):
        read_product(overlapping)
    inside_bits = copy.deepcopy(plug)
    inside_bits["entities"][0]["attrs"][1]["position"]["byte_offset"] = 0  # countdown at byte 0
    with pytest.raises(ProductError, match="lies before the end of its section's bit region"):
        read_product(inside_bits)
    duplicate = copy.deepcopy(plug)
    duplicate["entities"][0]["attrs"][1]["name"] = "switch"
    with pytest.raises(ProductError, match="share a name"):
        read_product(duplicate)
    wide_spec = copy.deepcopy(plug)
    wide_spec["entities"][0]["attrs"][1]["uint_spec"]["max"] = 70000  # a uint16
    with pytest.raises(ProductError, match="does not fit 16 bits"):
        read_product(wide_spec)
    protocol = copy.deepcopy(plug) | {"protocolType": "mixed"}
    with pytest.raises(ProductError, match="protocolType"):
        read_product(protocol)
    light = copy.deepcopy(DEFINITIONS["dimmable_light"])
    light["entities"][0]["attrs"][3]["enum"] = []
    with pytest.raises(ProductError, match="needs its options"):
        read_product(light)
    light["entities"][0]["attrs"][3]["enum"] = list("abcde")  # 5 options in 2 bits
    with pytest.raises(ProductError, match="5 options in 2 bits"):
        read_product(light)
