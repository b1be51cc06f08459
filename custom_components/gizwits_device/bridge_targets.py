"""Which entity and attribute a data point follows: the stored mapping, its choices, suggestions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
import json
import re
from typing import Any

from homeassistant.const import ATTR_DEVICE_CLASS
from homeassistant.core import State, split_entity_id

from .bridge_values import (
    BOOL_DOMAINS,
    BRIGHTNESS,
    ENUM_CHOICES,
    ENUM_DOMAINS,
    READ_ONLY_ATTRIBUTES,
    UINT_DOMAINS,
    Target,
    known_state,
)
from .const import CONF_MAPPING, CONF_PRODUCT
from .protocol import Access, DataPoint, DataType, ProductModel
from .units import CONF_UNITS

# What a point can follow on an entity, per (domain, point kind); None is the entity's state.
# Pairs not listed follow the state only.
_ATTRIBUTES: dict[tuple[str, str], tuple[str | None, ...]] = {
    ("light", "uint"): ("brightness", "color_temp_kelvin"),
    ("climate", "uint"): ("temperature", "current_temperature", "humidity", "current_humidity"),
    ("fan", "uint"): ("percentage",),
    ("cover", "uint"): ("current_position", "current_tilt_position"),
    ("media_player", "uint"): ("volume_level",),
    ("media_player", "bool"): (None, "is_volume_muted"),
    ("climate", "enum"): (None, "preset_mode", "fan_mode", "swing_mode"),
    ("fan", "enum"): ("preset_mode",),
    ("light", "enum"): ("effect",),
    ("media_player", "enum"): ("source", "sound_mode"),
}


def selector_domains(point: DataPoint) -> list[str]:
    """Domains an entity selector offers for this point: entities that can serve it.

    A point the apps can set needs an entity Home Assistant can set (a write to a sensor is
    refused); a point the device only reports can follow anything with a state of its kind.
    """
    if point.data_type is DataType.BOOL:
        domains = BOOL_DOMAINS | {"sensor"}
    elif point.is_uint:
        domains = UINT_DOMAINS
    elif point.data_type is DataType.ENUM:
        domains = ENUM_DOMAINS
    else:
        return []
    if point.writable:
        domains = domains - _REPORTING_DOMAINS
    return sorted(domains)


def _kind(point: DataPoint) -> str | None:
    if point.data_type is DataType.BOOL:
        return "bool"
    if point.is_uint:
        return "uint"
    return "enum" if point.data_type is DataType.ENUM else None


def attribute_choices(domain: str, point: DataPoint) -> tuple[str | None, ...]:
    """What a point can follow on an entity of ``domain`` (None: the state; empty: nothing)."""
    kind = _kind(point)
    if kind is None:
        return ()
    return _ATTRIBUTES.get((domain, kind), (None,))


def default_attribute(domain: str, point: DataPoint) -> str | None:
    """The attribute a point maps to on an entity of ``domain`` unless the user picks one."""
    text = f"{point.name} {point.display_name} {point.description}".lower()
    if point.is_uint:
        if domain == "light":
            return "color_temp_kelvin" if ("temp" in text or "kelvin" in text) else BRIGHTNESS
        if domain == "climate":
            if "humid" in text:
                return "humidity" if point.writable else "current_humidity"
            return "temperature" if point.writable else "current_temperature"
        if domain == "cover":
            return "current_tilt_position" if "tilt" in text else "current_position"
    if point.data_type is DataType.ENUM and domain == "climate":
        words = {"preset_mode": "preset", "fan_mode": "fan", "swing_mode": "swing"}
        return next((attribute for attribute, word in words.items() if word in text), None)
    if point.data_type is DataType.ENUM and domain == "media_player" and "sound" in text:
        return "sound_mode"
    choices = attribute_choices(domain, point)
    return choices[0] if choices else None


def attribute_problem(point: DataPoint, target: Target, state: State | None) -> str | None:
    """Why ``point`` cannot follow ``target`` (an error key), or None when it can."""
    if target.attribute not in attribute_choices(target.domain, point):
        return "attribute_invalid"
    if point.writable and target.attribute in READ_ONLY_ATTRIBUTES:
        return "attribute_read_only"
    known = known_state(state)
    if known is None:
        return None  # nothing to check against yet; reads keep the last value meanwhile
    choices_key = ENUM_CHOICES.get((target.domain, target.attribute))
    if point.data_type is DataType.ENUM and choices_key and choices_key not in known.attributes:
        return "attribute_unsupported"
    modes = known.attributes.get("supported_color_modes")
    if target.domain == "light" and point.is_uint and isinstance(modes, list | tuple | set):
        needed = {"color_temp"} if target.attribute == "color_temp_kelvin" else None
        dimmable = {str(mode) for mode in modes} - {"onoff", "unknown"}
        if not (dimmable & needed if needed else dimmable):
            return "attribute_unsupported"
    return None


def _tokens(text: str) -> set[str]:
    words = re.split(r"[^0-9a-z\u4e00-\u9fff]+", text.lower())
    return {t for t in words if len(t) > 1 and t not in _STOPWORDS}


# Words of a description that say nothing about which entity is meant.
_STOPWORDS = frozenset({"the", "on", "off", "of", "and", "or", "to", "in", "at", "for", "is"})
# Domains that only report what they measure or detect: Home Assistant cannot set them.
_REPORTING_DOMAINS = frozenset({"binary_sensor", "sensor"})
# For an on/off point with no entity named alike: the one switch there is, if only one.
_PLAIN_TOGGLES = frozenset({"input_boolean", "switch"})


def _fit(point: DataPoint, state: State) -> int:
    """How well an entity's domain suits the point (0: never suggested; more is better).

    An alert or fault is only suggested onto something that reports a problem, never onto
    something the user controls: a binary sensor, best one of device class problem. A point
    the device only reports prefers an entity that only reports too; a point the apps set
    needs one Home Assistant can set.
    """
    domain = state.domain
    if domain not in selector_domains(point):
        return 0
    if point.access in (Access.ALERT, Access.FAULT):
        if domain != "binary_sensor":
            return 0
        return 2 if state.attributes.get(ATTR_DEVICE_CLASS) == "problem" else 1
    if not point.writable:
        return 2 if domain in _REPORTING_DOMAINS else 1
    return 1


def suggest(point: DataPoint, states: Iterable[State], product: str = "") -> Target | None:
    """The compatible entity best named like a point (None: leave it native, or ambiguous).

    The domain's fit comes first (see _fit), then the name: words of the point's name and
    display name count twice, words of its description once; an entity's words include its
    domain (a point called "switch" finds switch.kitchen_relay). An entity named like nothing
    is not suggested, except for an on/off point the apps set: then the entity named like the
    product (the on/off point of a "Dimmable Light" finds light.desk_lamp), else the only
    plain toggle there is.
    """
    if point.data_type is DataType.BINARY:
        return None
    states = [s for s in states if _fit(point, s)]
    wanted = _tokens(f"{point.name} {point.display_name}")
    described = _tokens(point.description) - wanted
    ranks: dict[str, tuple[int, int]] = {}
    for state in states:
        have = _tokens(f"{state.domain} {state.object_id} {state.name}")
        score = 2 * len(wanted & have) + len(described & have)
        if point.is_uint and state.domain == "light" and (wanted & {"brightness", "dim"}):
            score += 1
        if score:
            ranks[state.entity_id] = (_fit(point, state), score)
    if not ranks and point.data_type is DataType.BOOL and point.writable:
        named = _tokens(product)
        for state in states:
            have = _tokens(f"{state.domain} {state.object_id} {state.name}")
            if score := len(named & have):
                ranks[state.entity_id] = (1, score)
    if ranks:
        top = max(ranks.values())
        best = [entity_id for entity_id, rank in ranks.items() if rank == top]
    elif point.data_type is DataType.BOOL and point.writable:
        best = [s.entity_id for s in states if s.domain in _PLAIN_TOGGLES]
    else:
        best = []
    if len(best) != 1:
        return None
    target = best[0]
    return Target(target, default_attribute(split_entity_id(target)[0], point))


# -- reading ---------------------------------------------------------------------------------


def bridge_config(options: Mapping[str, Any]) -> str | None:
    """A canonical text of the bridge's options (None: no product); what a change means:
    bridge.GizwitsBridge.async_follow."""
    product = options.get(CONF_PRODUCT)
    if not product:
        return None
    # Units are part of it: the native entities take theirs when they are created.
    units = options.get(CONF_UNITS) or {}
    return json.dumps([product, options.get(CONF_MAPPING) or {}, units], sort_keys=True)


def parse_mapping(model: ProductModel, raw: object) -> dict[str, Target]:
    """The usable part of the mapping option (unknown points and binary points are skipped).

    A target with an attribute the point cannot follow (the product changed since) gets the
    automatic choice (default_attribute).
    """
    mapping: dict[str, Target] = {}
    if not isinstance(raw, Mapping):
        return mapping
    for name, value in raw.items():
        target = Target.from_option(value)
        if target is None or name not in model:
            continue
        point = model.point(name)
        if point.data_type is DataType.BINARY:
            continue
        if target.attribute not in attribute_choices(target.domain, point):
            target = Target(target.entity_id, default_attribute(target.domain, point))
        mapping[name] = target
    return mapping
