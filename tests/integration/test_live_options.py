"""Options saved without a reload (docs/bridge.md): the same points mapped to other entities
are followed in place, the session and every entity stay; other points mapped, or new
credentials, reload the entry."""

from __future__ import annotations

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gizwits_device.bridge import GizwitsBridge
from custom_components.gizwits_device.const import CONF_MAPPING
from tests.integration.bridge_helpers import PLUG_MAPPING, P0App

from .helpers import StateRecorder, entity_id

pytestmark = pytest.mark.usefixtures("unload_entries")


async def test_another_entity_for_a_mapped_point_needs_no_reload(
    hass: HomeAssistant, config_entry: MockConfigEntry, plug: tuple[GizwitsBridge, P0App]
) -> None:
    """The plug's relay moves from input_boolean.plug to input_boolean.lamp_on: the same
    session and bridge follow the new entity at once (protocol.md §5 report), the old one is
    no longer followed, and no entity of the device becomes unavailable."""
    bridge, app = plug
    coordinator = config_entry.runtime_data.coordinator
    overload = entity_id(hass, config_entry, "binary_sensor", "point_overload")
    watched = StateRecorder(hass, overload)
    await hass.services.async_call(
        "input_boolean", "turn_on", {"entity_id": "input_boolean.lamp_on"}, blocking=True
    )
    await hass.async_block_till_done()
    assert bridge.device.state.values["switch"] is False  # not followed yet
    mapping = {**PLUG_MAPPING, "switch": {"entity_id": "input_boolean.lamp_on", "attribute": None}}
    hass.config_entries.async_update_entry(
        config_entry, options={**config_entry.options, CONF_MAPPING: mapping}
    )
    await hass.async_block_till_done()
    assert config_entry.runtime_data.coordinator is coordinator
    assert config_entry.runtime_data.bridge is bridge
    assert bridge.mapping["switch"].entity_id == "input_boolean.lamp_on"
    # The new entity's state is read at once and reported.
    assert (await app.report(lambda values: values["switch"] is True))["switch"] is True
    await hass.services.async_call(
        "input_boolean", "turn_off", {"entity_id": "input_boolean.plug"}, blocking=True
    )
    await hass.async_block_till_done()
    assert bridge.device.state.values["switch"] is True  # the old entity no longer counts
    assert STATE_UNAVAILABLE not in [s.state for s in watched.states]


async def test_mapping_a_native_point_reloads(
    hass: HomeAssistant, config_entry: MockConfigEntry, plug: tuple[GizwitsBridge, P0App]
) -> None:
    """Mapping the native overload point replaces its entity: the entry reloads."""
    coordinator = config_entry.runtime_data.coordinator
    mapping = {**PLUG_MAPPING, "overload": {"entity_id": "input_boolean.lamp_on"}}
    hass.config_entries.async_update_entry(
        config_entry, options={**config_entry.options, CONF_MAPPING: mapping}
    )
    await hass.async_block_till_done()
    assert config_entry.runtime_data.coordinator is not coordinator
    assert config_entry.runtime_data.bridge is not None
    assert "overload" in config_entry.runtime_data.bridge.mapping
