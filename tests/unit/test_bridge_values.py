"""bridge_values: HA state ↔ data-point value conversions (protocol.md §5 shown values)."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.core import State
import pytest

from custom_components.gizwits_device.bridge_targets import (
    default_attribute,
    selector_domains,
    suggest,
)
from custom_components.gizwits_device.bridge_values import (
    ConversionError,
    ServiceCall,
    Target,
    check_value,
    default_value,
    from_json_value,
    read_value,
    to_json_value,
    write_call,
)
from custom_components.gizwits_device.protocol import DataPoint, ProductModel
from tests.products import product_json

PLUG = ProductModel.from_json(product_json("smart_plug"))
LIGHT = ProductModel.from_json(product_json("dimmable_light"))


def st(entity_id: str, value: str, **attributes: Any) -> State:
    return State(entity_id, value, attributes)


def point(model: ProductModel, name: str) -> DataPoint:
    return model.point(name)


# -- reading ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entity_id", "value", "expected"),
    [
        ("switch.a", "on", True),
        ("input_boolean.a", "off", False),
        ("lock.a", "locked", True),
        ("cover.a", "opening", True),
        ("climate.a", "heat", True),
        ("climate.a", "off", False),
        ("sensor.a", "42", None),
        ("switch.a", "unavailable", None),
        ("switch.a", "unknown", None),
    ],
)
def test_read_bool(entity_id: str, value: str, expected: bool | None) -> None:
    assert read_value(point(PLUG, "switch"), Target(entity_id), st(entity_id, value)) is expected


def test_read_uint_quantizes_and_clamps() -> None:
    power = point(PLUG, "power")  # ratio 0.1, raw 0..40000
    assert read_value(power, Target("sensor.p"), st("sensor.p", "12.34")) == pytest.approx(12.3)
    assert read_value(power, Target("sensor.p"), st("sensor.p", "99999")) == 4000
    assert read_value(power, Target("sensor.p"), st("sensor.p", "-5")) == 0
    assert read_value(power, Target("sensor.p"), st("sensor.p", "nan")) is None
    assert read_value(power, Target("sensor.p"), st("sensor.p", "abc")) is None
    assert read_value(power, Target("sensor.p"), None) is None


def test_read_addition_and_attributes() -> None:
    kelvin = point(LIGHT, "color_temp")  # addition 2700, raw 0..3800
    target = Target("light.l", "color_temp_kelvin")
    assert read_value(kelvin, target, st("light.l", "on", color_temp_kelvin=4000)) == 4000
    assert read_value(kelvin, target, st("light.l", "on")) is None


def test_read_brightness_as_percent() -> None:
    brightness = point(LIGHT, "brightness")  # 0..100
    target = Target("light.l", "brightness")
    assert read_value(brightness, target, st("light.l", "on", brightness=255)) == 100
    assert read_value(brightness, target, st("light.l", "on", brightness=102)) == 40
    assert read_value(brightness, target, st("light.l", "off", brightness=None)) == 0


def test_read_enum_by_name_then_position() -> None:
    mode = point(LIGHT, "mode")  # normal, reading, night, party
    select = Target("input_select.m")
    by_name = st("input_select.m", "Night", options=["Normal", "Reading", "Night", "Party"])
    assert read_value(mode, select, by_name) == "night"
    by_pos = st("input_select.m", "c", options=["a", "b", "c", "d"])
    assert read_value(mode, select, by_pos) == "night"
    unknown = st("input_select.m", "x", options=["x", "y"])
    assert read_value(mode, select, unknown) is None


# -- writing ---------------------------------------------------------------------------------


def test_write_bool_services() -> None:
    switch = point(PLUG, "switch")
    on = st("light.l", "off")
    assert write_call(switch, Target("light.l"), on, True) == ServiceCall(
        "light", "turn_on", {"entity_id": "light.l"}
    )
    assert write_call(switch, Target("lock.d"), st("lock.d", "locked"), False).service == "unlock"
    assert write_call(switch, Target("cover.c"), st("cover.c", "open"), False).service == (
        "close_cover"
    )
    with pytest.raises(ConversionError, match="cannot be set"):
        write_call(switch, Target("binary_sensor.b"), st("binary_sensor.b", "on"), True)
    with pytest.raises(ConversionError, match="unavailable"):
        write_call(switch, Target("switch.s"), st("switch.s", "unavailable"), True)


def test_write_number_checks_entity_range() -> None:
    countdown = point(PLUG, "countdown")
    number = st("input_number.n", "0", min=0, max=100)
    call = write_call(countdown, Target("input_number.n"), number, 90)
    assert call == ServiceCall(
        "input_number", "set_value", {"entity_id": "input_number.n", "value": 90}
    )
    with pytest.raises(ConversionError, match="outside"):
        write_call(countdown, Target("input_number.n"), number, 101)
    with pytest.raises(ConversionError):
        write_call(countdown, Target("sensor.s"), st("sensor.s", "1"), 5)


def test_write_brightness_and_attributes() -> None:
    brightness = point(LIGHT, "brightness")
    light = st(
        "light.l", "on", brightness=10, min_color_temp_kelvin=2000, max_color_temp_kelvin=6500
    )
    target = Target("light.l", "brightness")
    assert write_call(brightness, target, light, 40).data == {
        "entity_id": "light.l",
        "brightness_pct": 40,
    }
    assert write_call(brightness, target, light, 0).service == "turn_off"
    kelvin = point(LIGHT, "color_temp")
    call = write_call(kelvin, Target("light.l", "color_temp_kelvin"), light, 3000)
    assert call.data["color_temp_kelvin"] == 3000
    with pytest.raises(ConversionError, match="outside"):
        write_call(kelvin, Target("light.l", "color_temp_kelvin"), light, 6501)
    climate = st("climate.c", "heat", min_temp=7, max_temp=35)
    assert write_call(
        point(PLUG, "countdown"), Target("climate.c", "temperature"), climate, 21
    ) == ServiceCall("climate", "set_temperature", {"entity_id": "climate.c", "temperature": 21})


def test_write_enum_option() -> None:
    mode = point(LIGHT, "mode")
    select = st("select.m", "Normal", options=["Normal", "Reading", "Night", "Party"])
    assert write_call(mode, Target("select.m"), select, "party").data["option"] == "Party"
    small = st("select.m", "a", options=["a", "b"])
    with pytest.raises(ConversionError, match="no option"):
        write_call(mode, Target("select.m"), small, "party")
    climate = st("climate.c", "off", hvac_modes=["normal", "reading", "night", "party"])
    assert write_call(mode, Target("climate.c"), climate, "night").service == "set_hvac_mode"


# -- values, suggestions -----------------------------------------------------------------------


def test_check_value_and_json_round_trip() -> None:
    assert check_value(point(PLUG, "power"), 12.34) == pytest.approx(12.3)
    with pytest.raises(ConversionError):
        check_value(point(PLUG, "power"), 4000.1)
    with pytest.raises(ConversionError):
        check_value(point(PLUG, "switch"), 1)
    with pytest.raises(ConversionError):
        check_value(point(LIGHT, "mode"), "disco")
    for p in (*PLUG.points, *LIGHT.points):
        value = default_value(p)
        assert from_json_value(p, json.loads(json.dumps(to_json_value(value)))) == value
    assert default_value(point(LIGHT, "color_temp")) == 2700


def test_the_product_name_only_picks_the_on_off_entity() -> None:
    """The product's name finds the entity of its on/off point the apps set, and nothing
    else: a read-only point is not suggested onto an entity named only like the product."""
    states = [
        st("sensor.plug_power", "5", friendly_name="Plug power"),
        st("input_boolean.plug", "off", friendly_name="Plug"),
        st("input_boolean.guest_mode", "off"),
        st("light.desk_lamp", "on", friendly_name="Desk lamp"),
    ]
    assert suggest(point(PLUG, "energy"), states, PLUG.name) is None
    assert suggest(point(PLUG, "switch"), states, PLUG.name) == Target("input_boolean.plug")
    assert suggest(point(LIGHT, "on_off"), states, LIGHT.name) == Target("light.desk_lamp")
    # A fault is never suggested onto what the user controls, however it is named.
    assert suggest(point(LIGHT, "lamp_fault"), states, LIGHT.name) is None


def test_suggestions_and_attributes() -> None:
    states = [
        st("input_boolean.plug", "on"),
        st("input_number.countdown", "0"),
        st("light.living_room", "on", friendly_name="Living room"),
        st("sensor.power_meter", "5"),
        st("select.light_mode", "a", options=["a"]),
    ]
    assert suggest(point(PLUG, "countdown"), states) == Target("input_number.countdown")
    assert suggest(point(PLUG, "power"), states) == Target("sensor.power_meter")
    # No toggle is named like the point, but there is only one: it is the one meant.
    assert suggest(point(PLUG, "switch"), states) == Target("input_boolean.plug")
    assert suggest(point(LIGHT, "brightness"), states) == Target("light.living_room", "brightness")
    assert suggest(point(LIGHT, "mode"), states) == Target("select.light_mode")
    assert default_attribute("light", point(LIGHT, "color_temp")) == "color_temp_kelvin"
    assert default_attribute("climate", point(PLUG, "power")) == "current_temperature"
    assert "switch" in selector_domains(point(PLUG, "switch"))
    assert "sensor" in selector_domains(point(PLUG, "overload"))
    assert Target.from_option({"entity_id": "light.l", "attribute": "brightness"}) == Target(
        "light.l", "brightness"
    )
    # A bare entity ID is the 1.1 shape, which the config entry migration rewrites.
    assert Target.from_option("switch.s") is None
    assert Target.from_option({"entity_id": 3}) is None
