"""Units of native number/sensor points: a preset of a unit and the device classes it implies.

Gizwits product definitions carry no unit; makers write it into the point's name or description
("Active power, W", "功率"). The options flow suggests a preset from those words, in English and
Chinese, and the user confirms or changes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import re

from homeassistant.components.number import NumberDeviceClass
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import (
    LIGHT_LUX,
    PERCENTAGE,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTemperature,
    UnitOfTime,
)

from .const import CONF_UNITS
from .protocol import DataPoint

__all__ = ["CONF_UNITS", "PRESETS", "UnitPreset", "suggest_unit", "unit_of"]

NO_UNIT = "none"


@dataclass(frozen=True, slots=True)
class UnitPreset:
    """A unit with the device classes that go with it."""

    unit: str
    sensor_class: SensorDeviceClass | None
    number_class: NumberDeviceClass | None
    state_class: SensorStateClass = SensorStateClass.MEASUREMENT


def _preset(
    unit: str, kind: str | None, state_class: SensorStateClass = SensorStateClass.MEASUREMENT
) -> UnitPreset:
    """A preset whose sensor and number device classes are both `kind` (HA names them alike)."""
    if kind is None:
        return UnitPreset(unit, None, None, state_class)
    return UnitPreset(unit, SensorDeviceClass(kind), NumberDeviceClass(kind), state_class)


PRESETS: dict[str, UnitPreset] = {
    "power_w": _preset(UnitOfPower.WATT, "power"),
    "power_kw": _preset(UnitOfPower.KILO_WATT, "power"),
    "energy_kwh": _preset(UnitOfEnergy.KILO_WATT_HOUR, "energy", SensorStateClass.TOTAL_INCREASING),
    "energy_wh": _preset(UnitOfEnergy.WATT_HOUR, "energy", SensorStateClass.TOTAL_INCREASING),
    "voltage_v": _preset(UnitOfElectricPotential.VOLT, "voltage"),
    "current_a": _preset(UnitOfElectricCurrent.AMPERE, "current"),
    "temperature_c": _preset(UnitOfTemperature.CELSIUS, "temperature"),
    "humidity": _preset(PERCENTAGE, "humidity"),
    "illuminance_lx": _preset(LIGHT_LUX, "illuminance"),
    "percent": _preset(PERCENTAGE, None),
    "duration_s": _preset(UnitOfTime.SECONDS, "duration"),
    "duration_min": _preset(UnitOfTime.MINUTES, "duration"),
    "duration_h": _preset(UnitOfTime.HOURS, "duration"),
}

# First match wins: units named outright, then what a quantity is called (en, zh-Hans).
_HINTS: tuple[tuple[str, str], ...] = (
    ("energy_kwh", r"\bkwh\b|千瓦时|度数"),
    ("energy_wh", r"\bwh\b|瓦时"),
    ("power_kw", r"\bkw\b|千瓦"),
    ("duration_min", r"\bmin(ute)?s?\b|分钟"),
    ("duration_h", r"\bhours?\b|小时"),
    ("duration_s", r"\bsec(ond)?s?\b|秒"),
    ("energy_kwh", r"\benergy\b|电量|能耗|用电"),
    ("power_w", r"\bpower\b|\bwatts?\b|\bw\b|功率"),
    ("voltage_v", r"\bvolt(age|s)?\b|电压"),
    ("current_a", r"\bcurrent\b|\bamps?\b|电流"),
    ("temperature_c", r"\btemp(erature)?\b|°c|温度"),
    ("humidity", r"\bhumidity\b|湿度"),
    ("illuminance_lx", r"\blux\b|\billuminance\b|光照|照度"),
    ("percent", r"\bbrightness\b|\bpercent(age)?\b|%|亮度|百分比"),
    ("duration_min", r"\bcountdown\b|\btimer\b|倒计时|定时"),
)


def suggest_unit(point: DataPoint) -> str:
    """The preset a point's name, display name and description point to (else no unit)."""
    text = f"{point.name} {point.display_name} {point.description}".lower().replace("_", " ")
    for key, pattern in _HINTS:
        if re.search(pattern, text):
            return key
    return NO_UNIT


def unit_of(units: Mapping[str, object] | None, point: DataPoint) -> UnitPreset | None:
    """The preset a native point shows (None: no unit, or a choice that is not a preset)."""
    choice = (units or {}).get(point.name)
    return PRESETS.get(choice) if isinstance(choice, str) else None
