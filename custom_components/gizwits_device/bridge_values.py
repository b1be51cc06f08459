"""Pure conversions between Home Assistant entity states and Gizwits data-point values.

Read: ``read_value(point, target, state)`` gives the point's shown value (None: cannot tell).
Write: ``write_call(point, target, state, value)`` gives the service call that makes the entity
hold ``value``, or raises ConversionError (the bridge then rejects the whole control).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
import math
from typing import Any

from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import State, split_entity_id

from .protocol import DataPoint, DataType, Value
from .protocol.device import (
    PointValueError,
    check_value,
    default_value,
    from_json_value,
    to_json_value,
)

__all__ = [
    "STATE",
    "ConversionError",
    "ServiceCall",
    "Target",
    "check_value",
    "default_value",
    "from_json_value",
    "read_value",
    "to_json_value",
    "write_call",
]

# Entities that turn on/off with turn_on/turn_off.
TOGGLE_DOMAINS = frozenset(
    {
        "automation",
        "climate",
        "fan",
        "humidifier",
        "input_boolean",
        "light",
        "media_player",
        "remote",
        "siren",
        "switch",
    }
)
BOOL_DOMAINS = TOGGLE_DOMAINS | {"binary_sensor", "cover", "lock"}
NUMBER_DOMAINS = frozenset({"counter", "input_number", "number", "sensor"})
UINT_DOMAINS = NUMBER_DOMAINS | {"climate", "cover", "fan", "light", "media_player"}
ENUM_DOMAINS = frozenset(
    {"climate", "fan", "input_select", "light", "media_player", "select", "sensor"}
)

# Attributes HA only reports: a point the apps can write cannot follow them.
READ_ONLY_ATTRIBUTES = frozenset({"current_temperature", "current_humidity"})
# The option standing for "the entity's state" (attribute None) in forms.
STATE = "state"

# Attribute holding an enum's choices, per (domain, attribute).
ENUM_CHOICES = {
    ("select", None): "options",
    ("input_select", None): "options",
    ("sensor", None): "options",
    ("climate", None): "hvac_modes",
    ("climate", "preset_mode"): "preset_modes",
    ("fan", "preset_mode"): "preset_modes",
    ("climate", "fan_mode"): "fan_modes",
    ("climate", "swing_mode"): "swing_modes",
    ("light", "effect"): "effect_list",
    ("media_player", "source"): "source_list",
    ("media_player", "sound_mode"): "sound_mode_list",
}
# Numeric attributes that can be set, with the service that sets them and its bounds.
_SETTABLE_ATTRIBUTES: dict[tuple[str, str], tuple[str, str, str | None, str | None]] = {
    ("light", "color_temp_kelvin"): (
        "turn_on",
        "color_temp_kelvin",
        "min_color_temp_kelvin",
        "max_color_temp_kelvin",
    ),
    ("climate", "temperature"): ("set_temperature", "temperature", "min_temp", "max_temp"),
    ("climate", "humidity"): ("set_humidity", "humidity", "min_humidity", "max_humidity"),
    ("fan", "percentage"): ("set_percentage", "percentage", None, None),
    ("cover", "current_position"): ("set_cover_position", "position", None, None),
    ("cover", "current_tilt_position"): ("set_cover_tilt_position", "tilt_position", None, None),
}
BRIGHTNESS = "brightness"
VOLUME = "volume_level"
MUTED = "is_volume_muted"
_BRIGHTNESS_MAX = 255
# Full scale of the levels a point maps onto proportionally.
_LEVEL_MAX = {BRIGHTNESS: float(_BRIGHTNESS_MAX), VOLUME: 1.0}


# A value that does not fit its point, or cannot be applied to (or read from) the mapped entity.
ConversionError = PointValueError


@dataclass(frozen=True, slots=True)
class Target:
    """Where a data point lives in HA: an entity and, for some domains, one attribute."""

    entity_id: str
    attribute: str | None = None

    @property
    def domain(self) -> str:
        """The entity's domain."""
        return split_entity_id(self.entity_id)[0]

    @classmethod
    def from_option(cls, raw: object) -> Target | None:
        """Parse the stored option ``{"entity_id": ..., "attribute": ...}`` (None if it is not)."""
        if isinstance(raw, Mapping):
            entity_id = raw.get("entity_id")
            attribute = raw.get("attribute")
            if isinstance(entity_id, str) and "." in entity_id:
                return cls(entity_id, attribute if isinstance(attribute, str) else None)
        return None

    def as_option(self) -> dict[str, str | None]:
        """JSON-serialisable form kept in the entry's options."""
        return {"entity_id": self.entity_id, "attribute": self.attribute}


@dataclass(frozen=True, slots=True)
class ServiceCall:
    """One service call (its target entity goes in ``data``)."""

    domain: str
    service: str
    data: dict[str, Any] = field(default_factory=dict)


def known_state(state: State | None) -> State | None:
    if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
        return None
    return state


def quantize(point: DataPoint, number: float) -> Value | None:
    """A number as the point's nearest shown value, clamped to its range."""
    if not math.isfinite(number):
        return None
    raw = point.to_raw(number)
    assert point.minimum is not None
    assert point.maximum is not None
    return point.to_shown(min(max(raw, point.minimum), point.maximum))


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except TypeError, ValueError:
        return None


def brightness_to_point(
    point: DataPoint, brightness: float, full: float = _BRIGHTNESS_MAX
) -> float:
    """An HA level 0..full (brightness 255, volume 1) -> the point's scale.

    Percent when the point tops out at <= 100, as is when its range is 0..full, else linear.
    """
    low, high = float(point.shown_min), float(point.shown_max)
    if high <= 100:
        return brightness * 100 / full
    if low == 0 and high == full:
        return brightness
    return low + brightness / full * (high - low)


def point_to_level(point: DataPoint, value: float, full: float) -> float:
    """The inverse of brightness_to_point."""
    low, high = float(point.shown_min), float(point.shown_max)
    if high <= 100:
        return value * full / 100
    if low == 0 and high == full:
        return value
    return (value - low) / (high - low) * full


def read_value(point: DataPoint, target: Target, state: State | None) -> Value | None:
    """The point's value from the entity's state; None when unavailable or unreadable."""
    known = known_state(state)
    if known is None:
        return None
    domain = target.domain
    if point.data_type is DataType.BOOL:
        return _read_bool(domain, target.attribute, known)
    if point.is_uint:
        if domain == "light" and target.attribute == BRIGHTNESS:
            level = _number(known.attributes.get(BRIGHTNESS))
            if known.state == "off" or level is None:
                level = 0.0
            return quantize(point, brightness_to_point(point, level))
        if domain == "media_player" and target.attribute == VOLUME:
            level = _number(known.attributes.get(VOLUME))
            if level is None:
                return None
            return quantize(point, brightness_to_point(point, level, _LEVEL_MAX[VOLUME]))
        raw = known.state if target.attribute is None else known.attributes.get(target.attribute)
        number = _number(raw)
        return None if number is None else quantize(point, number)
    if point.data_type is DataType.ENUM:
        attribute = target.attribute
        current = known.state if attribute is None else known.attributes.get(attribute)
        if not isinstance(current, str):
            return None
        return _match(current, _choices(domain, target.attribute, known), point.options)
    return None


def _read_bool(domain: str, attribute: str | None, state: State) -> bool | None:
    if attribute is not None:
        value = state.attributes.get(attribute)
        return value if isinstance(value, bool) else None
    if domain == "lock":
        return state.state == "locked"
    if domain == "cover":
        return state.state in ("open", "opening")
    if domain == "climate":
        return state.state != "off"
    if state.state in ("on", "off"):
        return state.state == "on"
    return None


def _choices(domain: str, attribute: str | None, state: State) -> list[str]:
    key = ENUM_CHOICES.get((domain, attribute))
    raw = state.attributes.get(key) if key else None
    return [str(option) for option in raw] if isinstance(raw, list | tuple) else []


def _match(value: str, source: Sequence[str], dest: Sequence[str]) -> str | None:
    """Map an option between two lists: same name (any case), else same position."""
    for option in dest:
        if option.lower() == value.lower():
            return option
    if len(source) == len(dest) and value in source:
        return dest[list(source).index(value)]
    return None


# -- writing ---------------------------------------------------------------------------------


def write_call(point: DataPoint, target: Target, state: State | None, value: Value) -> ServiceCall:
    """The service call setting the entity to ``value``; ConversionError if it cannot."""
    known = known_state(state)
    entity_id = target.entity_id
    if known is None:
        raise ConversionError(f"{entity_id} is unavailable")
    domain = target.domain
    data: dict[str, Any] = {"entity_id": entity_id}
    if point.data_type is DataType.BOOL and isinstance(value, bool):
        if target.attribute is None and domain in TOGGLE_DOMAINS:
            return ServiceCall(domain, "turn_on" if value else "turn_off", data)
        if target.attribute is None and domain == "lock":
            return ServiceCall(domain, "lock" if value else "unlock", data)
        if target.attribute is None and domain == "cover":
            return ServiceCall(domain, "open_cover" if value else "close_cover", data)
        if target.attribute == MUTED and domain == "media_player":
            return ServiceCall(domain, "volume_mute", {**data, MUTED: value})
    elif point.is_uint and isinstance(value, int | float) and not isinstance(value, bool):
        return _uint_call(point, target, known, float(value), data)
    elif point.data_type is DataType.ENUM and isinstance(value, str):
        return _enum_call(point, target, known, value, data)
    raise ConversionError(f"{entity_id} cannot be set from {point.data_type} point {point.name}")


def _uint_call(
    point: DataPoint, target: Target, state: State, value: float, data: dict[str, Any]
) -> ServiceCall:
    domain, attribute = target.domain, target.attribute
    number: int | float = int(value) if value.is_integer() else value
    if domain == "light" and attribute == BRIGHTNESS:
        if value <= 0:
            return ServiceCall("light", "turn_off", data)
        if float(point.shown_max) <= 100:
            return ServiceCall("light", "turn_on", {**data, "brightness_pct": number})
        level = point_to_level(point, value, _LEVEL_MAX[BRIGHTNESS])
        return ServiceCall("light", "turn_on", {**data, BRIGHTNESS: round(level)})
    if domain == "media_player" and attribute == VOLUME:
        level = min(max(point_to_level(point, value, _LEVEL_MAX[VOLUME]), 0.0), 1.0)
        return ServiceCall(domain, "volume_set", {**data, VOLUME: round(level, 4)})
    if attribute is None and domain in ("input_number", "number", "counter"):
        _check_bounds(state, number, "min", "max")
        if domain == "counter":
            return ServiceCall(domain, "set_value", {**data, "value": int(number)})
        return ServiceCall(domain, "set_value", {**data, "value": number})
    settable = None if attribute is None else _SETTABLE_ATTRIBUTES.get((domain, attribute))
    if settable is None:
        raise ConversionError(f"{target.entity_id} ({attribute or 'state'}) cannot be set")
    service, key, low_key, high_key = settable
    _check_bounds(state, number, low_key, high_key)
    return ServiceCall(domain, service, {**data, key: number})


def _check_bounds(state: State, value: float, low_key: str | None, high_key: str | None) -> None:
    low = _number(state.attributes.get(low_key)) if low_key else None
    high = _number(state.attributes.get(high_key)) if high_key else None
    if (low is not None and value < low) or (high is not None and value > high):
        raise ConversionError(f"{value} is outside {state.entity_id}'s range {low}..{high}")


def _enum_call(
    point: DataPoint, target: Target, state: State, value: str, data: dict[str, Any]
) -> ServiceCall:
    domain, attribute = target.domain, target.attribute
    choices = _choices(domain, attribute, state)
    option = _match(value, point.options, choices) if choices else None
    if option is None:
        raise ConversionError(f"{target.entity_id} has no option matching {value!r}")
    if domain in ("select", "input_select") and attribute is None:
        return ServiceCall(domain, "select_option", {**data, "option": option})
    if domain == "climate" and attribute is None:
        return ServiceCall(domain, "set_hvac_mode", {**data, "hvac_mode": option})
    if attribute == "preset_mode" and domain in ("climate", "fan"):
        return ServiceCall(domain, "set_preset_mode", {**data, "preset_mode": option})
    if domain == "climate" and attribute in ("fan_mode", "swing_mode"):
        return ServiceCall(domain, f"set_{attribute}", {**data, attribute: option})
    if domain == "media_player" and attribute in ("source", "sound_mode"):
        return ServiceCall(domain, f"select_{attribute}", {**data, attribute: option})
    if domain == "light" and attribute == "effect":
        return ServiceCall(domain, "turn_on", {**data, "effect": option})
    raise ConversionError(f"{target.entity_id} ({attribute or 'state'}) cannot be set")
