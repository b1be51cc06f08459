"""Options that need no new M2M session apply live: no reload, the session stays logged in
and no entity of the cloud side goes unavailable (the real emulator and mosquitto)."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gizwits_device.const import (
    CONF_LAN_ENABLED,
    CONF_LAN_INTERFACES,
    CONF_LAN_STATUS_BROADCAST,
    DOMAIN,
)
from custom_components.gizwits_device.lan_entry import LAN_ENTITY_KEYS

from .helpers import StateRecorder, entity_id, state
from .lan_helpers import bound_app, lan_service

# Entities of the cloud side: each would go unavailable if the entry reloaded.
CLOUD_ENTITIES = (("sensor", "online_apps"), ("binary_sensor", "connectivity"))


class SameSession:
    """Witness that the entry keeps its loaded state, its device and its one M2M login."""

    def __init__(self, hass: HomeAssistant, entry: MockConfigEntry) -> None:
        self.entry = entry
        self.runtime = entry.runtime_data
        self.session = entry.runtime_data.device.session
        self.connects = self.session.stats.connects
        self.recorders = [
            StateRecorder(hass, entity_id(hass, entry, platform, key))
            for platform, key in CLOUD_ENTITIES
        ]

    def check(self) -> None:
        """Nothing reloaded: same runtime data, same session, no new login, no flap."""
        entry = self.entry
        assert entry.state is ConfigEntryState.LOADED
        assert entry.runtime_data is self.runtime
        assert entry.runtime_data.device.session is self.session
        assert self.session.connected
        assert self.session.stats.connects == self.connects
        for recorder in self.recorders:
            assert STATE_UNAVAILABLE not in [s.state for s in recorder.states]


def _lan_entities(hass: HomeAssistant, entry: MockConfigEntry) -> set[str | None]:
    registry = er.async_get(hass)
    return {
        registry.async_get_entity_id(str(platform), DOMAIN, f"{entry.unique_id}_{key}")
        for platform, key in LAN_ENTITY_KEYS
    }


async def _local_network(hass: HomeAssistant, entry: MockConfigEntry, data: dict[str, Any]) -> None:
    """Save the *Local network* options step with `data`."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "local_network"}
    )
    result = await hass.config_entries.options.async_configure(result["flow_id"], data)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def test_local_network_options_apply_on_the_same_session(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """LAN off, on another interface, status broadcast off, back to the default: each saved
    in the options re-joins the LAN service live; the LAN entities leave the registry while
    LAN is off and come back with the same ids (protocol.md §8)."""
    entry = setup_integration
    service = lan_service(hass)
    witness = SameSession(hass, entry)
    lan_ids = _lan_entities(hass, entry)
    assert None not in lan_ids

    await _local_network(hass, entry, {CONF_LAN_ENABLED: False, CONF_LAN_INTERFACES: []})
    assert entry.runtime_data.lan is None
    assert not service.listening
    assert _lan_entities(hass, entry) == {None}
    assert all(hass.states.get(found) is None for found in lan_ids if found)
    witness.check()

    await _local_network(hass, entry, {CONF_LAN_ENABLED: True, CONF_LAN_INTERFACES: ["lo2"]})
    assert service.listening
    assert service.diagnostics()["tcp"]["hosts"] == ["127.0.0.2"]
    assert _lan_entities(hass, entry) == lan_ids
    network = entity_id(hass, entry, "binary_sensor", "local_network")
    assert state(hass, network).state == "on"
    witness.check()

    # Staying on: the same entities follow the service joined again.
    recorder = StateRecorder(hass, network)
    await _local_network(
        hass,
        entry,
        {CONF_LAN_ENABLED: True, CONF_LAN_INTERFACES: [], CONF_LAN_STATUS_BROADCAST: False},
    )
    assert service.diagnostics()["tcp"]["hosts"] == ["127.0.0.1"]
    assert STATE_UNAVAILABLE not in [s.state for s in recorder.states]
    assert state(hass, network).state == "on"
    app = await bound_app(hass, entry)
    await app.close()
    witness.check()


async def test_unloading_after_a_live_change_leaves_the_service_once(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """The LAN side joined by the options is the one unloading leaves: the service stops."""
    entry = setup_integration
    await _local_network(hass, entry, {CONF_LAN_ENABLED: True, CONF_LAN_INTERFACES: ["lo2"]})
    assert lan_service(hass).listening
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert not lan_service(hass).listening
    assert lan_service(hass).diagnostics()["devices"] == 0
