"""Options flow rough edges a new user hit: kept product, key mismatch, closing, units, labels."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gizwits_device.const import CONF_MAPPING, CONF_PRODUCT, CONF_UNITS
from tests.conftest import PRODUCT_KEY
from tests.integration.bridge_helpers import PLUG, options_step, setup_bridge, setup_helper_entities
from tests.integration.helpers import entity_id, state, wait_until

# The smart plug under the test device's own product key: no mismatch question.
OWN_PLUG = {**PLUG, "product_key": PRODUCT_KEY}


def _suggested(result: Any) -> dict[str, Any]:
    return {
        str(marker): (marker.description or {}).get("suggested_value")
        for marker in result["data_schema"].schema
    }


async def _configure(hass: HomeAssistant, result: Any, data: dict[str, Any]) -> Any:
    return await hass.config_entries.options.async_configure(result["flow_id"], data)


async def _source(
    hass: HomeAssistant, result: Any, source: str, data: dict[str, Any] | None = None
) -> Any:
    """Pick ``source`` in the product menu, then submit its form with ``data`` (if given)."""
    assert result["step_id"] == "product"
    result = await _configure(hass, result, {"next_step_id": source})
    return result if data is None else await _configure(hass, result, data)


async def test_product_form_keeps_the_loaded_product(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """With a product loaded the menu offers "keep it", which goes straight to its mapping."""
    await setup_bridge(
        hass,
        config_entry,
        OWN_PLUG,
        {"switch": {"entity_id": "input_boolean.plug", "attribute": None}},
    )
    result = await options_step(hass, config_entry, "product")
    assert result["menu_options"][0] == "mapping"  # keep the loaded product
    assert result["description_placeholders"]["current"] == "Smart Plug"
    result = await _source(hass, result, "mapping")
    assert result["step_id"] == "mapping"
    assert _suggested(result)["switch"] == "input_boolean.plug"
    hass.config_entries.options.async_abort(result["flow_id"])

    # Pasting a definition instead uses the pasted one.
    renamed = {**OWN_PLUG, "name": "Plug v2"}
    result = await options_step(hass, config_entry, "product")
    result = await _source(hass, result, "product_paste", {"product_json": json.dumps(renamed)})
    assert result["step_id"] == "mapping"
    assert result["description_placeholders"]["product"] == "Plug v2"
    hass.config_entries.options.async_abort(result["flow_id"])
    await hass.async_block_till_done()
    # Closing after a new product keeps it (below); here it was accepted, so it is kept too.
    assert config_entry.options[CONF_PRODUCT]["name"] == "Plug v2"


async def test_product_of_another_key_is_confirmed(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """A definition for another product key is not taken silently: confirm or choose again."""
    entry = setup_integration
    result = await options_step(hass, entry, "product")
    assert "mapping" not in result["menu_options"]
    result = await _source(hass, result, "product_example", {"example": "smart_plug"})
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "product_mismatch"
    assert result["menu_options"] == ["accept_product", "product"]
    assert result["description_placeholders"] == {
        "product": "Smart Plug",
        "product_key": PLUG["product_key"],
        "device_key": PRODUCT_KEY,
    }
    # Refused: back to the product form, nothing stored; closing there keeps nothing.
    result = await _configure(hass, result, {"next_step_id": "product"})
    assert result["step_id"] == "product"
    result = await _source(hass, result, "product_example", {"example": "smart_plug"})
    result = await _configure(hass, result, {"next_step_id": "accept_product"})
    assert result["step_id"] == "mapping"
    assert result["description_placeholders"]["product"] == "Smart Plug"
    hass.config_entries.options.async_abort(result["flow_id"])
    assert entry.options[CONF_PRODUCT] == PLUG

    # The device's own product key goes straight to the mapping.
    result = await options_step(hass, entry, "product")
    result = await _source(hass, result, "product_paste", {"product_json": json.dumps(OWN_PLUG)})
    assert result["step_id"] == "mapping"
    hass.config_entries.options.async_abort(result["flow_id"])
    await hass.async_block_till_done()


async def test_closing_at_the_mismatch_question_keeps_nothing(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    entry = setup_integration
    result = await options_step(hass, entry, "product")
    result = await _source(hass, result, "product_example", {"example": "dimmable_light"})
    assert result["step_id"] == "product_mismatch"
    hass.config_entries.options.async_abort(result["flow_id"])
    assert CONF_PRODUCT not in entry.options


async def test_closing_the_mapping_keeps_the_product(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """Closing the mapping dialog keeps the product just chosen; its points become native."""
    entry = setup_integration
    result = await options_step(hass, entry, "product")
    result = await _source(hass, result, "product_paste", {"product_json": json.dumps(OWN_PLUG)})
    assert result["step_id"] == "mapping"
    hass.config_entries.options.async_abort(result["flow_id"])
    assert entry.options[CONF_PRODUCT] == OWN_PLUG
    assert entry.options[CONF_MAPPING] == {}
    await hass.async_block_till_done()
    await wait_until(lambda: entry.runtime_data.bridge is not None)
    await hass.async_block_till_done()
    assert state(hass, entity_id(hass, entry, "switch", "point_switch")).state == "off"


async def test_mapping_lists_points_by_access_without_jargon(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """The points are listed under translated headings, not as status_writable/readonly."""
    result = await options_step(hass, setup_integration, "product")
    result = await _source(hass, result, "product_paste", {"product_json": json.dumps(OWN_PLUG)})
    lists = result["description_placeholders"]
    assert lists["writable"].splitlines() == [
        "- `switch` (Switch): bool",
        "- `countdown` (Countdown): uint16 0…1440",
    ]
    assert lists["read_only"].splitlines() == [
        "- `power` (Power): uint16 0.0…4000.0",
        "- `energy` (Energy): uint32 0.0…999999.99",
    ]
    assert lists["alert"] == "- `overload` (Overload): bool"
    assert lists["fault"] == "—"
    assert not any("status_" in text for text in lists.values())
    hass.config_entries.options.async_abort(result["flow_id"])
    await hass.async_block_till_done()


async def test_units_of_native_points(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """Native numbers/sensors get a unit and device class, suggested from the point's words."""
    entry = setup_integration
    await setup_helper_entities(hass)
    result = await options_step(hass, entry, "product")
    result = await _source(hass, result, "product_paste", {"product_json": json.dumps(OWN_PLUG)})
    result = await _configure(hass, result, {"switch": "input_boolean.plug"})
    assert result["step_id"] == "units"
    assert _suggested(result) == {
        "countdown": "duration_min",
        "power": "power_w",
        "energy": "energy_kwh",
    }
    # Only the translated presets can be picked (a typed value showed raw keys in the form).
    with pytest.raises(Exception, match="Schema validation failed"):
        await _configure(hass, result, {"countdown": "rpm"})
    result = await _configure(
        hass, result, {"countdown": "duration_min", "power": "power_w", "energy": "none"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_UNITS] == {"countdown": "duration_min", "power": "power_w"}
    await hass.async_block_till_done()
    await wait_until(lambda: entry.runtime_data.bridge is not None)
    await hass.async_block_till_done()
    countdown = state(hass, entity_id(hass, entry, "number", "point_countdown"))
    assert countdown.attributes["unit_of_measurement"] == "min"
    assert countdown.attributes["device_class"] == "duration"
    power = state(hass, entity_id(hass, entry, "sensor", "point_power"))
    assert power.attributes["unit_of_measurement"] == "W"
    assert power.attributes["device_class"] == "power"
    assert power.attributes["state_class"] == "measurement"
    energy = state(hass, entity_id(hass, entry, "sensor", "point_energy"))
    assert "unit_of_measurement" not in energy.attributes
    assert "device_class" not in energy.attributes

    # Reopened, the units step shows what is stored.
    result = await options_step(hass, entry, "mapping")
    result = await _configure(hass, result, {"switch": "input_boolean.plug"})
    assert _suggested(result) == {
        "countdown": "duration_min",
        "power": "power_w",
        "energy": "none",
    }
    hass.config_entries.options.async_abort(result["flow_id"])


def _point_entities(hass: HomeAssistant, entry: MockConfigEntry) -> set[str]:
    registry = er.async_get(hass)
    return {
        registered.unique_id.removeprefix(f"{entry.unique_id}_point_")
        for registered in er.async_entries_for_config_entry(registry, entry.entry_id)
        if registered.unique_id.startswith(f"{entry.unique_id}_point_")
    }


async def test_native_entities_leave_the_registry_with_their_points(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """A point mapped later, or a removed product, takes its native entity along (no ghost)."""
    entry = config_entry
    await setup_bridge(hass, entry, OWN_PLUG, {})
    assert _point_entities(hass, entry) == {"switch", "countdown", "power", "energy", "overload"}
    switch = entity_id(hass, entry, "switch", "point_switch")

    result = await options_step(hass, entry, "mapping")
    result = await _configure(hass, result, {"switch": "input_boolean.plug"})
    result = await _configure(hass, result, {})  # units: none
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    await wait_until(lambda: "switch" not in _point_entities(hass, entry))
    assert hass.states.get(switch) is None

    result = await options_step(hass, entry, "product")
    result = await _source(hass, result, "product_remove")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    await wait_until(lambda: entry.runtime_data.bridge is None)
    await hass.async_block_till_done()
    assert _point_entities(hass, entry) == set()
    assert not [s for s in hass.states.async_all() if s.attributes.get("data_point")]
