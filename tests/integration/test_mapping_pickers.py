"""The bridge's mapping step (docs/bridge.md): what each point's entity picker accepts and what
it suggests, in a home with a desk lamp, a guest-mode helper and a few sensors."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from tests.integration.bridge_helpers import options_step
from tests.integration.helpers import past_product_checks, past_units

pytestmark = pytest.mark.usefixtures("unload_entries")


def _pickers(result: Any) -> dict[str, tuple[list[str], str | None]]:
    """Point name -> (the domains its picker accepts, the entity it suggests)."""
    return {
        str(marker): (
            list(result["data_schema"].schema[marker].config["domain"]),
            (marker.description or {}).get("suggested_value"),
        )
        for marker in result["data_schema"].schema
    }


def _home(hass: HomeAssistant) -> None:
    hass.states.async_set(
        "light.desk_lamp",
        "on",
        {"friendly_name": "Desk lamp", "supported_color_modes": ["brightness"], "brightness": 9},
    )
    hass.states.async_set("input_boolean.guest_mode", "off", {"friendly_name": "Guest mode"})
    hass.states.async_set("sensor.power_meter", "4", {"friendly_name": "Power meter"})
    hass.states.async_set("binary_sensor.hall_motion", "off", {"device_class": "motion"})


async def _mapping_form(hass: HomeAssistant, entry: MockConfigEntry) -> Any:
    result = await options_step(hass, entry, "product")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "product_example"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"example": "dimmable_light"}
    )
    result = await past_units(hass, await past_product_checks(hass, result))
    assert result["step_id"] == "mapping"
    return result


async def test_a_fault_is_never_suggested_onto_a_light(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """Dimmable Light: the lamp's fault ("LED driver failure") is not suggested onto the lamp
    although both say "lamp"; on/off goes to the light (the product is a light), not to the
    only input_boolean."""
    _home(hass)
    result = await _mapping_form(hass, setup_integration)
    pickers = _pickers(result)
    assert pickers["lamp_fault"][1] is None
    assert pickers["on_off"][1] == "light.desk_lamp"
    assert pickers["brightness"][1] == "light.desk_lamp"
    hass.config_entries.options.async_abort(result["flow_id"])


async def test_a_fault_is_suggested_onto_a_problem_sensor_named_alike(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """A binary sensor of device class problem named like the fault is suggested, before a
    door sensor named alike too."""
    _home(hass)
    hass.states.async_set(
        "binary_sensor.lamp_driver",
        "off",
        {"device_class": "problem", "friendly_name": "Lamp driver"},
    )
    hass.states.async_set("binary_sensor.lamp_door", "off", {"device_class": "door"})
    result = await _mapping_form(hass, setup_integration)
    assert _pickers(result)["lamp_fault"][1] == "binary_sensor.lamp_driver"
    hass.config_entries.options.async_abort(result["flow_id"])


async def test_pickers_accept_only_entities_that_can_serve_the_point(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """A point the apps set is offered only entities Home Assistant can set (no sensor, no
    binary sensor); a point the device only reports is offered anything with such a state."""
    _home(hass)
    result = await _mapping_form(hass, setup_integration)
    pickers = _pickers(result)
    for writable in ("on_off", "brightness", "color_temp", "mode"):
        domains = pickers[writable][0]
        assert "sensor" not in domains
        assert "binary_sensor" not in domains
    assert {"light", "switch", "input_boolean", "lock", "cover"} <= set(pickers["on_off"][0])
    assert {"light", "input_number", "number"} <= set(pickers["brightness"][0])
    assert {"select", "input_select"} <= set(pickers["mode"][0])
    assert {"binary_sensor", "sensor", "switch"} <= set(pickers["lamp_fault"][0])
    hass.config_entries.options.async_abort(result["flow_id"])
