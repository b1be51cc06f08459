"""Product definition parsing and validation (protocol.md §5; sources listed in p0_models)."""

import copy
from dataclasses import FrozenInstanceError
import json
import math
import re
from typing import Any

import pytest

from custom_components.gizwits_device.protocol.errors import GizwitsError, GizwitsValueError
from custom_components.gizwits_device.protocol.product import (
    ACCESS_ORDER,
    Access,
    DataPoint,
    DataType,
    ProductDefinitionError,
    ProductModel,
    ProtocolType,
    Unit,
    UnknownDataPointError,
    WrongPointTypeError,
)

from .p0_models import (
    BOILER,
    PET_HOUSE,
    WIDE_BITS,
    A,
    F,
    Json,
    R,
    W,
    attr,
    load,
    load_public,
    product,
)


def test_smart_plug_example() -> None:
    # protocol.md §5: standard product, layout writable | read-only | alert.
    model = load("smart_plug")
    assert model.name == "Smart Plug"
    assert model.product_key == "5f0c3a9e2b7d4e61a8c9d0e1f2a3b4c5"
    assert model.packet_version == 4
    assert model.protocol_type is ProtocolType.STANDARD
    assert not model.variable_length
    assert [p.name for p in model.points] == ["switch", "countdown", "power", "energy", "overload"]
    assert [p.name for p in model.writable] == ["switch", "countdown"]
    power = model.point("power")
    assert power.data_type is DataType.UINT16
    assert power.access is Access.READONLY
    assert (power.byte_offset, power.length, power.unit) == (3, 2, Unit.BYTE)
    assert (power.minimum, power.maximum, power.ratio, power.addition) == (0, 40000, 0.1, 0)
    assert power.description == "Active power, W"
    assert model.point("energy").ratio == 0.01
    assert model.point("overload").access is Access.ALERT
    assert "switch" in model
    assert "nope" not in model
    with pytest.raises(UnknownDataPointError) as info:
        model.point("nope")
    # A library error that is still the KeyError callers of a mapping-like lookup expect.
    assert isinstance(info.value, GizwitsError)
    assert isinstance(info.value, KeyError)


def test_dimmable_light_example() -> None:
    # [VSMART] shape: var_len exports put every point at offset 0.
    model = load("dimmable_light")
    assert model.variable_length
    assert model.protocol_type is ProtocolType.VAR_LEN
    assert [p.name for p in model.writable] == ["on_off", "brightness", "color_temp", "mode"]
    temp = model.point("color_temp")
    assert (temp.shown_min, temp.shown_max) == (2700, 6500)
    mode = model.point("mode")
    assert mode.options == ("normal", "reading", "night", "party")
    assert mode.is_bit_field
    assert model.point("lamp_fault").access is Access.FAULT
    assert not model.point("lamp_fault").writable


def test_pet_house_shown_ranges_match_the_apps_ui() -> None:
    # [PET]: the export's "ui" section shows Motor_Speed -5..5 and Temperature -13..187; uint_spec
    # min/max are raw values, shown = raw * ratio + addition (protocol.md §5, [GOKIT] X2Y).
    model = ProductModel.from_json(PET_HOUSE)
    motor = model.point("Motor_Speed")
    assert (motor.shown_min, motor.shown_max) == (-5, 5)
    temp = model.point("Temperature")
    assert (temp.shown_min, temp.shown_max) == (-13, 187)
    assert model.point("LED_Color").options[3] == "Pink"
    assert len(model.writable) == 6


def test_vsmart_fractional_ratio() -> None:
    # [VSMART]: Room setpoint uint_spec min 0, max 50, ratio 0.5, addition 5 = "5-30 °C, 0.5 step".
    model = ProductModel.from_json(BOILER)
    setpoint = model.point("Room_Setpoint")
    assert not setpoint.integral
    assert (setpoint.shown_min, setpoint.shown_max) == (5.0, 30.0)
    assert setpoint.to_shown(31) == 20.5
    assert setpoint.to_raw(20.5) == 31


def test_from_json_accepts_text_bytes_and_mappings() -> None:
    text = json.dumps(PET_HOUSE)
    a = ProductModel.from_json(text)
    b = ProductModel.from_json(text.encode())
    c = ProductModel.from_json(PET_HOUSE)
    assert a == b == c


def test_points_sorted_by_id_and_defaults() -> None:
    attrs = [attr(1, "b", "uint8", W, 1, spec=(0, 9, 1, 0)), attr(0, "a", "bool", W)]
    del attrs[0]["display_name"]
    del attrs[0]["desc"]
    model = ProductModel.from_json(product(attrs))
    assert [p.name for p in model.points] == ["a", "b"]
    assert model.point("b").display_name == "b"
    assert model.point("b").description == ""


def test_integral_id_given_as_float_is_accepted() -> None:
    attrs = [attr(0, "a", "bool", W)]
    attrs[0]["id"] = 0.0
    assert ProductModel.from_json(product(attrs)).points[0].id == 0


def test_model_and_points_are_frozen() -> None:
    model = load("smart_plug")
    with pytest.raises(FrozenInstanceError):
        model.name = "x"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        model.points[0].name = "x"  # type: ignore[misc]
    assert ACCESS_ORDER == (Access.WRITABLE, Access.READONLY, Access.ALERT, Access.FAULT)


# --- value scaling -----------------------------------------------------------------------------


def test_scaling_integral_and_fractional() -> None:
    # protocol.md §5 / [SDK] gizX2Y, gizY2X: y = x * ratio + addition, x = (y - addition) / ratio.
    plug = load("smart_plug")
    power, energy, countdown = plug.point("power"), plug.point("energy"), plug.point("countdown")
    assert countdown.integral
    assert countdown.to_shown(30) == 30
    assert isinstance(countdown.to_shown(30), int)
    assert not power.integral
    assert power.to_shown(12345) == 1234.5
    assert power.to_raw(1234.5) == 12345
    assert energy.to_shown(123) == 1.23
    assert energy.to_raw(1.23) == 123
    assert isinstance(energy.to_shown(100), float)
    # Rounded to the nearest step, halves away from zero (the SDK truncates; we round).
    assert power.to_raw(1234.56) == 12346
    assert power.to_raw(0.05) == 1
    assert power.to_raw(0.04) == 0
    assert power.raw_in_range(40000)
    assert not power.raw_in_range(40001)
    assert (power.shown_min, power.shown_max) == (0.0, 4000.0)


def test_scaling_rejects_non_finite_and_non_uint() -> None:
    power = load("smart_plug").point("power")
    # Every error reaches callers as a library error (one GizwitsError root), never a bare
    # ValueError/TypeError; each is still the built-in kind for callers that catch that.
    for bad, message in (
        (math.nan, "not a finite number"),
        (math.inf, "not a finite number"),
        ("12", "not a number"),
        (True, "not a number"),
    ):
        with pytest.raises(GizwitsValueError, match=message):
            power.to_raw(bad)  # type: ignore[arg-type]
    # An int too long for str() converts exactly instead of raising Python's own ValueError.
    assert not power.raw_in_range(power.to_raw(10**5000))
    switch = load("smart_plug").point("switch")
    assert not switch.is_uint
    assert not switch.integral
    assert not switch.raw_in_range(0)
    with pytest.raises(WrongPointTypeError, match="not a uint") as info:
        switch.to_shown(1)
    assert isinstance(info.value, GizwitsError)
    assert isinstance(info.value, TypeError)
    with pytest.raises(WrongPointTypeError, match="not a uint"):
        _ = switch.shown_max
    with pytest.raises(WrongPointTypeError, match="not a uint"):
        switch.to_raw(1)


def test_datapoint_properties() -> None:
    point = DataPoint(
        id=0,
        name="x",
        display_name="X",
        description="",
        data_type=DataType.ENUM,
        access=Access.WRITABLE,
        byte_offset=0,
        bit_offset=0,
        length=2,
        unit=Unit.BIT,
        options=("a", "b"),
    )
    assert point.writable
    assert point.is_bit_field
    assert not point.is_uint


# --- ProductDefinitionError paths --------------------------------------------------------------


def _base() -> Json:
    return copy.deepcopy(PET_HOUSE)


def _attrs(doc: Json) -> list[Json]:
    attrs: list[Json] = doc["entities"][0]["attrs"]
    return attrs


def _set(path: str, value: Any, *more: Any) -> Json:
    """Copy of PET_HOUSE with fields replaced (``a3.position.len``) or deleted (value=...).

    ``more`` holds further path, value pairs.
    """
    doc = _base()
    changes = [(path, value), *zip(more[::2], more[1::2], strict=True)]
    for change_path, change_value in changes:
        parts = change_path.split(".")
        target: Any = doc
        for part in parts[:-1]:
            target = (
                _attrs(doc)[int(part[1:])]
                if part.startswith("a") and part[1:].isdigit()
                else (target[part])
            )
        if change_value is ...:
            del target[parts[-1]]
        else:
            target[parts[-1]] = change_value
    return doc


def _entity(**changes: Any) -> Json:
    doc = _base()
    doc["entities"][0].update(changes)
    return doc


def _no_attrs() -> Json:
    doc = _base()
    del doc["entities"][0]["attrs"]
    return doc


INVALID: list[tuple[str, object, str]] = [
    ("top level list", [], "product definition: must be an object, got list"),
    ("name missing", _set("name", ...), "product: missing field name"),
    ("name not str", _set("name", 5), "product: name must be a string"),
    ("product_key missing", _set("product_key", ...), "product: missing field product_key"),
    (
        "packetVersion int",
        _set("packetVersion", 4),
        'product: packetVersion must be a hex string like "0x00000004", got 4',
    ),
    (
        "packetVersion not hex",
        _set("packetVersion", "4"),
        "product: packetVersion must be a hex string like \"0x00000004\", got '4'",
    ),
    (
        "protocolType unknown",
        _set("protocolType", "fixed"),
        "product: protocolType must be one of standard, var_len, got 'fixed'",
    ),
    (
        "protocolType not str",
        _set("protocolType", 1),
        "product: protocolType must be one of standard, var_len, got 1",
    ),
    ("entities missing", _set("entities", ...), "product: missing field entities"),
    ("entities not list", _set("entities", {}), "product: entities must be a list"),
    ("no entity", _set("entities", []), "entities: must hold exactly one entity, got 0"),
    (
        "two entities",
        _set("entities", [_base()["entities"][0]] * 2),
        "entities: must hold exactly one entity, got 2",
    ),
    ("entity not object", _set("entities", ["x"]), "entities[0]: must be an object, got str"),
    ("attrs not list", _entity(attrs=None), "entities[0]: attrs must be a list"),
    ("attrs missing", _no_attrs(), "entities[0]: missing field attrs"),
    ("attrs empty", _entity(attrs=[]), "entities[0].attrs: must not be empty"),
    ("attr not object", _entity(attrs=[1]), "attrs[0]: must be an object, got int"),
    ("attr name missing", _set("a0.name", ...), "attrs[0]: missing field name"),
    ("attr name not str", _set("a0.name", 3), "attrs[0]: name must be a string"),
    (
        "attr name not identifier",
        _set("a0.name", "LED On"),
        'attrs[0] "LED On": name must be an identifier ([A-Za-z_][A-Za-z0-9_]*)',
    ),
    ("id missing", _set("a2.id", ...), 'attrs[2] "LED_R": missing field id'),
    ("id string", _set("a2.id", "2"), 'attrs[2] "LED_R": id must be an integer'),
    ("id bool", _set("a2.id", True), 'attrs[2] "LED_R": id must be an integer'),
    ("id fraction", _set("a2.id", 2.5), 'attrs[2] "LED_R": id must be an integer'),
    ("id infinite", _set("a2.id", math.inf), 'attrs[2] "LED_R": id must be an integer'),
    ("id negative", _set("a2.id", -1), 'attrs[2] "LED_R": id must be >= 0'),
    (
        "data_type unknown",
        _set("a2.data_type", "int8"),
        'attrs[2] "LED_R": data_type must be one of bool, enum, uint8, uint16, uint32, binary, '
        "got 'int8'",
    ),
    (
        "type unknown",
        _set("a2.type", "status_hidden"),
        'attrs[2] "LED_R": type must be one of status_writable, status_readonly, alert, fault, '
        "got 'status_hidden'",
    ),
    ("display_name not str", _set("a2.display_name", 1), 'attrs[2] "LED_R": display_name must'),
    ("desc not str", _set("a2.desc", None), 'attrs[2] "LED_R": desc must be a string'),
    ("position missing", _set("a2.position", ...), 'attrs[2] "LED_R": missing field position'),
    (
        "position not object",
        _set("a2.position", [0]),
        'attrs[2] "LED_R": position: must be an object, got list',
    ),
    (
        "byte_offset missing",
        _set("a2.position.byte_offset", ...),
        'attrs[2] "LED_R": position: missing field byte_offset',
    ),
    (
        "bit_offset not int",
        _set("a2.position.bit_offset", "0"),
        'attrs[2] "LED_R": position: bit_offset must be an integer',
    ),
    (
        "unit unknown",
        _set("a2.position.unit", "word"),
        "attrs[2] \"LED_R\": position: unit must be one of bit, byte, got 'word'",
    ),
    (
        "negative offset",
        _set("a2.position.byte_offset", -1),
        'attrs[2] "LED_R": position offsets must be >= 0',
    ),
    (
        "uint in bits",
        _set("a2.position.unit", "bit"),
        'attrs[2] "LED_R": position.unit must be byte for uint8 points',
    ),
    (
        "bool in bytes",
        _set("a0.position.unit", "byte"),
        'attrs[0] "LED_OnOff": position.unit must be bit for bool points',
    ),
    (
        "bool two bits",
        _set("a0.position.len", 2),
        'attrs[0] "LED_OnOff": position.len must be 1 for bool points',
    ),
    (
        "uint8 two bytes",
        _set("a2.position.len", 2),
        'attrs[2] "LED_R": position.len must be 1 for uint8 points',
    ),
    (
        "enum zero bits",
        _set("a1.position.len", 0),
        'attrs[1] "LED_Color": position.len must be >= 1',
    ),
    (
        "byte field with bit_offset",
        _set("a2.position.bit_offset", 3),
        'attrs[2] "LED_R": position.bit_offset must be 0 for byte fields',
    ),
    ("enum missing", _set("a1.enum", ...), 'attrs[1] "LED_Color": missing field enum'),
    ("enum not list", _set("a1.enum", "a,b"), 'attrs[1] "LED_Color": enum must be a list'),
    ("enum empty", _set("a1.enum", []), 'attrs[1] "LED_Color": enum must not be empty'),
    (
        "enum non-string",
        _set("a1.enum", ["a", 1]),
        'attrs[1] "LED_Color": enum options must be strings',
    ),
    (
        "enum duplicate",
        _set("a1.enum", ["a", "a"]),
        'attrs[1] "LED_Color": enum options must be distinct',
    ),
    (
        "enum too many",
        _set("a1.enum", ["a", "b", "c", "d", "e"]),
        'attrs[1] "LED_Color": 5 enum options do not fit in position.len 2 bits',
    ),
    ("uint_spec missing", _set("a2.uint_spec", ...), 'attrs[2] "LED_R": missing field uint_spec'),
    (
        "uint_spec not object",
        _set("a2.uint_spec", 1),
        'attrs[2] "LED_R": uint_spec: must be an object, got int',
    ),
    (
        "min missing",
        _set("a2.uint_spec.min", ...),
        'attrs[2] "LED_R": uint_spec: missing field min',
    ),
    (
        "max fraction",
        _set("a2.uint_spec.max", 9.5),
        'attrs[2] "LED_R": uint_spec: max must be an integer',
    ),
    (
        "ratio string",
        _set("a2.uint_spec.ratio", "1"),
        'attrs[2] "LED_R": uint_spec: ratio must be a finite number',
    ),
    (
        "ratio bool",
        _set("a2.uint_spec.ratio", True),
        'attrs[2] "LED_R": uint_spec: ratio must be a finite number',
    ),
    (
        "addition NaN",
        _set("a2.uint_spec.addition", math.nan),
        'attrs[2] "LED_R": uint_spec: addition must be a finite number',
    ),
    ("min negative", _set("a2.uint_spec.min", -1), 'attrs[2] "LED_R": uint_spec.min must be >= 0'),
    (
        "max below min",
        _set("a2.uint_spec.min", 255),
        'attrs[2] "LED_R": uint_spec.max must be >= min',
    ),
    (
        "max too wide",
        _set("a2.uint_spec.max", 256),
        'attrs[2] "LED_R": uint_spec.max 256 does not fit in uint8 (max 255)',
    ),
    ("ratio zero", _set("a2.uint_spec.ratio", 0), 'attrs[2] "LED_R": uint_spec.ratio must be > 0'),
    (
        "ratio negative",
        _set("a2.uint_spec.ratio", -0.5),
        'attrs[2] "LED_R": uint_spec.ratio must be > 0',
    ),
    ("duplicate id", _set("a3.id", 2), 'attrs[3] "LED_G": duplicate id 2 (also attrs[2])'),
    (
        "duplicate name",
        _set("a3.name", "LED_R"),
        'attrs[3] "LED_R": duplicate name (also attrs[2])',
    ),
    (
        "bit field outside its region",
        _set("a10.position.byte_offset", 9),
        'attrs[10] "Alert_2": position.byte_offset must be 8 '
        "(bit 1 of the alert bit region, which starts at byte 8)",
    ),
    (
        # A 9th bit at byte 2: neither the console form (region start, 0) nor the MCU SDK header
        # form (start + 8 // 8 = 1) puts it there.
        "bit 8 in neither reading",
        _set("a1.position.bit_offset", 8, "a1.position.byte_offset", 2),
        'attrs[1] "LED_Color": position.byte_offset must be 0 (console form) or '
        "1 (MCU SDK header form) (bit 8 of the status_writable bit region, which starts at byte 0)",
    ),
    (
        "bit fields overlap",
        _set("a1.position.bit_offset", 0),
        'attrs[1] "LED_Color": position overlaps attrs[0] "LED_OnOff"',
    ),
    (
        "byte field gap",
        _set("a4.position.byte_offset", 4),
        'attrs[4] "LED_B": position.byte_offset must be 3 '
        "(status_writable byte fields follow its bit region with no gaps)",
    ),
    (
        "byte field overlap",
        _set("a3.position.byte_offset", 1),
        'attrs[3] "LED_G": position overlaps attrs[2] "LED_R"',
    ),
    (
        "byte field on the bit region",
        _set("a2.position.byte_offset", 0),
        'attrs[2] "LED_R": position.byte_offset must be 1 '
        "(status_writable byte fields follow its bit region with no gaps)",
    ),
    (
        "read-only section not after writable",
        _set("a6.position.byte_offset", 6),
        'attrs[6] "Infrared": position.byte_offset must be 5 '
        "(bit 0 of the status_readonly bit region, which starts at byte 5)",
    ),
]


@pytest.mark.parametrize(
    ("data", "message"), [(d, m) for _, d, m in INVALID], ids=[i for i, _, _ in INVALID]
)
def test_invalid_definitions(data: object, message: str) -> None:
    with pytest.raises(ProductDefinitionError, match="^" + re.escape(message)):
        ProductModel.from_json(data)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not JSON: "),
        (b"\xff\xfe{", "not JSON: "),
        ("[" * 100_000 + "]" * 100_000, "not JSON: "),
        ("", "not JSON: "),
    ],
    ids=["unterminated", "not utf-8", "too deep", "empty"],
)
def test_not_json(text: str | bytes, message: str) -> None:
    with pytest.raises(ProductDefinitionError, match="^" + re.escape(message)):
        ProductModel.from_json(text)


def test_error_is_a_value_error() -> None:
    assert issubclass(ProductDefinitionError, ValueError)


def test_var_len_positions_are_not_checked() -> None:
    # [VSMART]: every var_len position is 0/0; the standard layout rules do not apply.
    model = ProductModel.from_json(BOILER)
    assert all(p.byte_offset == 0 for p in model.points)
    assert model.variable_length


def test_wide_bit_regions_are_accepted() -> None:
    # [SDK] DI1..DI16: one 2-byte region, bit_offset 0..15 counted across the region,
    # byte_offset = region start + bit_offset // 8 (DI8 BYTEOFFSET 22 / DI9 BYTEOFFSET 23).
    model = ProductModel.from_json(WIDE_BITS)
    assert model.point("DI16").bit_offset == 15
    assert (model.point("DI8").byte_offset, model.point("DI9").byte_offset) == (3, 4)
    assert model.point("DI16").region_start == model.point("DI1").region_start == 3
    assert model.point("counter").byte_offset == 5


def test_sdk_generated_layout_with_more_than_8_bits() -> None:
    # [LIGHT]: the console's code generator gives switch1..5 BYTEOFFSET 1 / BITOFFSET 8..12 and
    # the enum BYTEOFFSET 1 / BITOFFSET 13 / LEN 2 (COUNT_W_BIT 2): accepted as exported.
    model = load_public("tree18_light")
    assert model.product_key == "527d73d0617445f791241dd5fa736a93"
    positions = {p.name: (p.byte_offset, p.bit_offset, p.length) for p in model.points[:14]}
    assert positions["Led_auto_OnOff"] == (0, 7, 1)
    assert positions["switch1"] == (1, 8, 1)
    assert positions["switch5"] == (1, 12, 1)
    assert positions["enum"] == (1, 13, 2)
    assert {p.region_start for p in model.points if p.is_bit_field} == {0}
    assert len(model.writable) == 31  # 4 attr_flags bytes, like its 31-member attrFlags_t
    assert model.point("data1").byte_offset == 14
    assert model.point("temperature").byte_offset == 24


def _layout(p: DataPoint) -> tuple[object, ...]:
    return (p.id, p.name, p.data_type, p.access, p.byte_offset, p.bit_offset, p.length,
            p.minimum, p.maximum, p.ratio, p.addition, p.options)  # fmt: skip


def test_public_console_exports_parse() -> None:
    # Real exports as api.gizwits.com/app/datapoint returns them (tests/vectors/products).
    pet = load_public("pet_house")
    assert pet.product_key == "de9e8d18d9394cce9081b25a531e552b"
    rebuilt = ProductModel.from_json(PET_HOUSE)  # p0_models' copy: same layout, other labels
    assert [_layout(p) for p in pet.points] == [_layout(p) for p in rebuilt.points]
    ph = load_public("ph803w")
    assert [p.name for p in ph.points] == [
        "pH_OUT", "mV_OUT", "EC_OUT", "TEMP_OUT", "pH", "mV", "EC", "TEMP"
    ]  # fmt: skip
    assert ph.writable == ()
    assert (ph.point("pH").ratio, ph.point("mV").addition) == (0.01, -2000)
    clear = load_public("clearlight")
    assert len(clear.writable) == 16
    assert clear.point("heart_pulse").byte_offset == 11


def test_sections_may_be_empty_and_alert_fault_follow() -> None:
    doc = product(
        [
            attr(0, "ro", "uint8", R, 0, spec=(0, 1, 1, 0)),
            attr(1, "al", "bool", A, 1, 0),
            attr(2, "fa", "bool", F, 2, 0),
        ]
    )
    model = ProductModel.from_json(doc)
    assert model.writable == ()
