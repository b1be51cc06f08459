"""bridge_values: the attribute a point follows (choices, defaults, checks), its conversions."""

from __future__ import annotations

from typing import Any

from homeassistant.core import State
import pytest

from custom_components.gizwits_device.bridge_targets import (
    attribute_choices,
    attribute_problem,
    default_attribute,
    suggest,
)
from custom_components.gizwits_device.bridge_values import (
    ConversionError,
    ServiceCall,
    Target,
    brightness_to_point,
    read_value,
    write_call,
)
from custom_components.gizwits_device.protocol import DataPoint, ProductModel
from tests.products import product_json
from tests.protocol.p0_models import BOILER, PET_HOUSE, WIDE_BITS

BOILER_MODEL = ProductModel.from_json(BOILER)
PET = ProductModel.from_json(PET_HOUSE)
WIDE = ProductModel.from_json(WIDE_BITS)

PLUG = ProductModel.from_json(product_json("smart_plug"))
LIGHT = ProductModel.from_json(product_json("dimmable_light"))
SWITCH = PLUG.point("switch")  # writable bool
POWER = PLUG.point("power")  # read-only uint 0..4000
BRIGHTNESS = LIGHT.point("brightness")  # writable uint 0..100
KELVIN = LIGHT.point("color_temp")  # writable uint 2700..6500 ("temperature" in its name)
MODE = LIGHT.point("mode")  # writable enum normal/reading/night/party
SPEED = WIDE.point("speed")  # writable uint 0..255
SERIAL = BOILER_MODEL.point("Serial")  # binary
HUMIDITY = PET.point("Humidity")  # read-only uint 0..100


def st(entity_id: str, value: str, **attributes: Any) -> State:
    return State(entity_id, value, attributes)


def test_choices_by_domain_and_point_type() -> None:
    assert attribute_choices("light", BRIGHTNESS) == ("brightness", "color_temp_kelvin")
    assert attribute_choices("light", SWITCH) == (None,)
    assert attribute_choices("media_player", SWITCH) == (None, "is_volume_muted")
    assert attribute_choices("climate", MODE) == (None, "preset_mode", "fan_mode", "swing_mode")
    assert attribute_choices("input_number", POWER) == (None,)
    assert attribute_choices("sensor", SERIAL) == ()


@pytest.mark.parametrize(
    ("domain", "point", "expected"),
    [
        ("light", BRIGHTNESS, "brightness"),
        ("light", KELVIN, "color_temp_kelvin"),
        ("climate", BRIGHTNESS, "temperature"),
        ("climate", POWER, "current_temperature"),
        ("climate", HUMIDITY, "current_humidity"),
        ("fan", BRIGHTNESS, "percentage"),
        ("cover", BRIGHTNESS, "current_position"),
        ("media_player", BRIGHTNESS, "volume_level"),
        ("media_player", MODE, "source"),
        ("climate", MODE, None),
        ("fan", MODE, "preset_mode"),
        ("light", MODE, "effect"),
        ("switch", SWITCH, None),
        ("sensor", SERIAL, None),
    ],
)
def test_default_attribute(domain: str, point: DataPoint, expected: str | None) -> None:
    assert default_attribute(domain, point) == expected


def test_default_attribute_by_name() -> None:
    """Words in the point's name/description pick humidity, tilt, fan/swing/preset, sound."""
    model = ProductModel.from_json(
        {
            **BOILER,
            "entities": [
                {
                    **BOILER["entities"][0],
                    "attrs": [
                        {**a, "name": name, "display_name": name, "desc": ""}
                        for a, name in zip(
                            BOILER["entities"][0]["attrs"],
                            [
                                "x",
                                "fan_speed",
                                "humidity_target",
                                "tilt",
                                "y",
                                "sound_field",
                                "z",
                                "w",
                            ],
                            strict=True,
                        )
                    ],
                }
            ],
        }
    )
    assert default_attribute("climate", model.point("fan_speed")) == "fan_mode"
    assert default_attribute("climate", model.point("humidity_target")) == "humidity"
    assert default_attribute("cover", model.point("tilt")) == "current_tilt_position"
    assert default_attribute("media_player", model.point("sound_field")) == "sound_mode"


def test_attribute_problems() -> None:
    light = st("light.l", "on", supported_color_modes=["brightness"], brightness=3)
    assert attribute_problem(BRIGHTNESS, Target("light.l", "brightness"), light) is None
    assert (
        attribute_problem(KELVIN, Target("light.l", "color_temp_kelvin"), light)
        == "attribute_unsupported"
    )
    onoff = st("light.l", "on", supported_color_modes=["onoff"])
    assert attribute_problem(BRIGHTNESS, Target("light.l", "brightness"), onoff) == (
        "attribute_unsupported"
    )
    both = st("light.l", "on", supported_color_modes=["color_temp", "hs"])
    assert attribute_problem(KELVIN, Target("light.l", "color_temp_kelvin"), both) is None
    # Not a choice for this domain/type at all.
    assert attribute_problem(SWITCH, Target("light.l", "brightness"), light) == "attribute_invalid"
    # Read-only attributes: fine for a read-only point, not for a writable one.
    climate = st("climate.c", "heat", current_temperature=20)
    current = Target("climate.c", "current_temperature")
    assert attribute_problem(POWER, current, climate) is None
    assert attribute_problem(BRIGHTNESS, current, climate) == "attribute_read_only"
    # Enum attributes need their choice list; nothing can be checked while unavailable.
    presets = Target("climate.c", "preset_mode")
    assert attribute_problem(MODE, presets, climate) == "attribute_unsupported"
    assert attribute_problem(MODE, presets, st("climate.c", "heat", preset_modes=["a"])) is None
    assert attribute_problem(MODE, presets, st("climate.c", "unavailable")) is None


def test_volume_mute_and_source() -> None:
    player = st(
        "media_player.tv",
        "playing",
        volume_level=0.4,
        is_volume_muted=True,
        source_list=["Normal", "Reading", "Night", "Party"],
        source="Night",
    )
    volume = Target("media_player.tv", "volume_level")
    assert read_value(BRIGHTNESS, volume, player) == 40
    assert read_value(BRIGHTNESS, volume, st("media_player.tv", "off")) is None
    assert write_call(BRIGHTNESS, volume, player, 25) == ServiceCall(
        "media_player", "volume_set", {"entity_id": "media_player.tv", "volume_level": 0.25}
    )
    muted = Target("media_player.tv", "is_volume_muted")
    assert read_value(SWITCH, muted, player) is True
    assert write_call(SWITCH, muted, player, False) == ServiceCall(
        "media_player", "volume_mute", {"entity_id": "media_player.tv", "is_volume_muted": False}
    )
    source = Target("media_player.tv", "source")
    assert read_value(MODE, source, player) == "night"
    assert write_call(MODE, source, player, "party").data == {
        "entity_id": "media_player.tv",
        "source": "Party",
    }


def test_climate_and_cover_attributes() -> None:
    climate = st(
        "climate.c",
        "heat",
        fan_modes=["normal", "reading", "night", "party"],
        fan_mode="normal",
        humidity=40,
        min_humidity=30,
        max_humidity=60,
    )
    call = write_call(MODE, Target("climate.c", "fan_mode"), climate, "night")
    assert call == ServiceCall(
        "climate", "set_fan_mode", {"entity_id": "climate.c", "fan_mode": "night"}
    )
    humidity = Target("climate.c", "humidity")
    assert write_call(BRIGHTNESS, humidity, climate, 50).service == "set_humidity"
    with pytest.raises(ConversionError, match="outside"):
        write_call(BRIGHTNESS, humidity, climate, 70)
    cover = st("cover.blind", "open", current_tilt_position=30)
    tilt = Target("cover.blind", "current_tilt_position")
    assert read_value(BRIGHTNESS, tilt, cover) == 30
    assert write_call(BRIGHTNESS, tilt, cover, 55) == ServiceCall(
        "cover", "set_cover_tilt_position", {"entity_id": "cover.blind", "tilt_position": 55}
    )
    with pytest.raises(ConversionError, match="no option"):
        write_call(MODE, Target("climate.c", "swing_mode"), st("climate.c", "heat"), "night")
    with pytest.raises(ConversionError, match="cannot be set"):
        write_call(
            MODE, Target("sensor.m", None), st("sensor.m", "a", options=["a", "b", "c", "d"]), "b"
        )


def test_levels_on_full_and_linear_scales() -> None:
    """0..255 points take brightness as is; other ranges map linearly onto 0..255 or 0..1."""
    light = st("light.l", "on", brightness=128)
    target = Target("light.l", "brightness")
    assert read_value(SPEED, target, light) == 128
    assert write_call(SPEED, target, light, 200).data["brightness"] == 200
    assert read_value(KELVIN, target, light) == 2700 + round(128 / 255 * 3800)
    assert write_call(KELVIN, target, light, 6500).data["brightness"] == 255
    assert brightness_to_point(KELVIN, 0.5, 1.0) == 2700 + 1900
    volume = Target("media_player.tv", "volume_level")
    player = st("media_player.tv", "on", volume_level=1.0)
    assert read_value(SPEED, volume, player) == 255
    assert write_call(KELVIN, volume, player, 4600).data["volume_level"] == 0.5


def test_suggest_prefers_lights_for_brightness() -> None:
    states = [st("input_number.lamp", "0"), st("light.lamp", "on")]
    assert suggest(BRIGHTNESS, states) == Target("light.lamp", "brightness")
    assert suggest(SERIAL, states) is None
    assert Target.from_option(42) is None
    assert Target.from_option({"entity_id": "nodot"}) is None
