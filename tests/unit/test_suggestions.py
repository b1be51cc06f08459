"""Options-flow suggestions: which entity a point follows, which unit a native point shows."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from homeassistant.const import PERCENTAGE, UnitOfEnergy, UnitOfPower, UnitOfTime
from homeassistant.core import State
import pytest

from custom_components.gizwits_device.bridge_targets import (
    suggest,
)
from custom_components.gizwits_device.bridge_values import (
    Target,
)
from custom_components.gizwits_device.protocol import ProductModel
from custom_components.gizwits_device.units import NO_UNIT, PRESETS, suggest_unit, unit_of

PRODUCTS = Path(__file__).parents[2] / "custom_components" / "gizwits_device" / "products"
PLUG = ProductModel.from_json((PRODUCTS / "smart_plug.json").read_text())
LIGHT = ProductModel.from_json((PRODUCTS / "dimmable_light.json").read_text())


def st(entity_id: str, value: str = "on", **attributes: Any) -> State:
    return State(entity_id, value, attributes)


def test_readme_worked_example() -> None:
    """The smart plug of the README: `switch` → the relay, `power` → its power sensor."""
    states = [
        st("switch.kitchen_relay", friendly_name="Kitchen relay"),
        st("switch.garden_pump", friendly_name="Garden pump"),
        st("sensor.kitchen_relay_power", "12.3", friendly_name="Kitchen relay power"),
        st("sensor.outdoor_temperature", "4"),
    ]
    # Both switches are called like the point ("switch"); the description ("Relay on/off")
    # tells them apart.
    assert suggest(PLUG.point("switch"), states) == Target("switch.kitchen_relay")
    assert suggest(PLUG.point("power"), states) == Target("sensor.kitchen_relay_power")
    # A point the apps set is never suggested onto a read-only sensor ("relay" in countdown's
    # description matches the power sensor).
    assert suggest(PLUG.point("countdown"), states) is None
    assert suggest(PLUG.point("energy"), states) is None
    assert suggest(PLUG.point("overload"), states) is None


def test_only_toggle_and_ambiguity() -> None:
    """No toggle named alike: the only one there is; two equally good candidates: none."""
    only = [st("input_boolean.plug"), st("light.living_room"), st("sensor.power_meter", "5")]
    assert suggest(PLUG.point("switch"), only) == Target("input_boolean.plug")
    two = [st("input_boolean.plug"), st("input_boolean.fan")]
    assert suggest(PLUG.point("switch"), two) is None
    # Read-only on/off points get no such guess.
    assert suggest(PLUG.point("overload"), only) is None
    equal = [st("input_number.countdown_a"), st("input_number.countdown_b")]
    assert suggest(PLUG.point("countdown"), equal) is None


@pytest.mark.parametrize(
    ("name", "display", "description", "expected"),
    [
        ("power", "Power", "Active power, W", "power_w"),
        ("energy", "Energy", "Energy since reset, kWh", "energy_kwh"),
        ("countdown", "Countdown", "Minutes until the relay toggles; 0 = off", "duration_min"),
        ("gonglv", "功率", "", "power_w"),
        ("dianliang", "用电量", "累计", "energy_kwh"),
        ("wendu", "温度", "室内温度", "temperature_c"),
        ("shidu", "湿度", "", "humidity"),
        ("dingshi", "倒计时", "", "duration_min"),
        ("delay", "Delay", "in seconds", "duration_s"),
        ("runtime", "Run time", "hours", "duration_h"),
        ("brightness", "Brightness", "0-100", "percent"),
        ("speed", "Speed", "", NO_UNIT),
        ("minimum", "Minimum level", "", NO_UNIT),
    ],
)
def test_suggest_unit(name: str, display: str, description: str, expected: str) -> None:
    point = replace(PLUG.point("power"), name=name, display_name=display, description=description)
    assert suggest_unit(point) == expected


def test_shipped_examples_get_units() -> None:
    assert {p.name: suggest_unit(p) for p in PLUG.points if p.is_uint} == {
        "countdown": "duration_min",
        "power": "power_w",
        "energy": "energy_kwh",
    }
    assert suggest_unit(LIGHT.point("brightness")) == "percent"


def test_unit_of() -> None:
    power = PLUG.point("power")
    preset = unit_of({"power": "power_w"}, power)
    assert preset == PRESETS["power_w"]
    assert preset is not None
    assert preset.unit == UnitOfPower.WATT
    assert PRESETS["energy_kwh"].unit == UnitOfEnergy.KILO_WATT_HOUR
    assert PRESETS["duration_min"].unit == UnitOfTime.MINUTES
    assert PRESETS["percent"].unit == PERCENTAGE
    for stored in ({"power": NO_UNIT}, {"power": "rpm"}, {"power": 3}, {}, None):
        assert unit_of(stored, power) is None
