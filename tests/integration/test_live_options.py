"""Options that need no new M2M session apply live: no reload, the session stays logged in
and no entity of the cloud side goes unavailable (the real emulator and mosquitto)."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gizwits_device.const import (
    CONF_LAN_ENABLED,
    CONF_LAN_INTERFACES,
    CONF_LAN_STATUS_BROADCAST,
    CONF_PRODUCT,
    DOMAIN,
)
from custom_components.gizwits_device.lan_entry import LAN_ENTITY_KEYS
from emulator.p0 import DataPointCodec
from tests.conftest import PRODUCT_KEY

from .bridge_helpers import LIGHT, P0App, options_step, setup_bridge
from .helpers import (
    StateRecorder,
    TestDevice,
    entity_id,
    past_units,
    state,
    wait_state,
    wait_until,
)
from .lan_helpers import bound_app, lan_service
from .test_options_flow import OWN_PLUG, _configure, _point_entities, _source

if TYPE_CHECKING:
    from emulator.server import Emulator

# Entities of the cloud side: each would go unavailable if the entry reloaded.
CLOUD_ENTITIES = (("sensor", "online_apps"), ("binary_sensor", "connectivity"))
PLUG_TARGET = {"entity_id": "input_boolean.plug", "attribute": None}


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


async def _mapping(
    hass: HomeAssistant, entry: MockConfigEntry, targets: dict[str, str], units: dict[str, str]
) -> None:
    """Save the mapping step with `targets`, then the units step with `units`."""
    result = await options_step(hass, entry, "mapping")
    result = await hass.config_entries.options.async_configure(result["flow_id"], targets)
    result = await past_units(hass, result, units)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def test_units_apply_by_making_only_those_entities_anew(
    hass: HomeAssistant, config_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """A new unit and device class reach the entity and its registry entry (which keeps the
    entity id and the user's name); the other native entities and the session stay."""
    entry = config_entry
    bridge = await setup_bridge(hass, entry, OWN_PLUG, {"switch": PLUG_TARGET})
    witness = SameSession(hass, entry)
    registry = er.async_get(hass)
    power = entity_id(hass, entry, "sensor", "point_power")
    countdown = entity_id(hass, entry, "number", "point_countdown")
    energy = entity_id(hass, entry, "sensor", "point_energy")
    registry.async_update_entity(power, name="Plug power")
    assert "unit_of_measurement" not in state(hass, power).attributes
    untouched = StateRecorder(hass, energy)
    energy_state = state(hass, energy)

    await _mapping(
        hass,
        entry,
        {"switch": "input_boolean.plug"},
        {"countdown": "duration_min", "power": "power_w"},
    )
    await wait_state(hass, power, lambda s: s.attributes.get("unit_of_measurement") == "W")
    assert state(hass, power).attributes["device_class"] == "power"
    assert state(hass, power).attributes["friendly_name"] == "Plug power"
    registered = registry.async_get(power)
    assert registered is not None
    assert (registered.original_device_class, registered.unit_of_measurement) == ("power", "W")
    assert state(hass, countdown).attributes["unit_of_measurement"] == "min"
    assert state(hass, countdown).attributes["device_class"] == "duration"
    # Entities whose unit stayed are the same objects, not even rewritten.
    assert untouched.states == []
    assert hass.states.get(energy) is energy_state
    assert entry.runtime_data.bridge is bridge
    witness.check()

    # Back to no unit: gone from the entity and its registry entry.
    await _mapping(hass, entry, {"switch": "input_boolean.plug"}, {"countdown": "duration_min"})
    await wait_state(hass, power, lambda s: "unit_of_measurement" not in s.attributes)
    registered = registry.async_get(power)
    assert registered is not None
    assert (registered.original_device_class, registered.unit_of_measurement) == (None, None)
    witness.check()
    # No "does not generate unique IDs" or other complaint about the entities added again.
    assert not [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING
        and r.name.startswith(("homeassistant.", "custom_"))
        and not r.name.startswith("homeassistant.loader")
    ]


async def test_remapping_the_same_points_follows_in_place(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """The switch point moved to another helper: the bridge follows it on the same device."""
    entry = config_entry
    bridge = await setup_bridge(hass, entry, OWN_PLUG, {"switch": PLUG_TARGET})
    witness = SameSession(hass, entry)
    await _mapping(hass, entry, {"switch": "input_boolean.lamp_on"}, {})
    assert entry.runtime_data.bridge is bridge
    assert bridge.mapping["switch"].entity_id == "input_boolean.lamp_on"
    await hass.services.async_call(
        "input_boolean", "turn_on", {"entity_id": "input_boolean.lamp_on"}, blocking=True
    )
    await wait_until(lambda: entry.runtime_data.device.state.values["switch"] is True)
    witness.check()


async def test_product_changes_apply_on_the_same_session(
    hass: HomeAssistant, emulator: Emulator, device: TestDevice, config_entry: MockConfigEntry
) -> None:
    """A native point mapped, another product, no product: the device takes the new points
    on the same session (protocol.md §5: apps read them at once), the native entities follow
    and those of points no longer native leave the registry."""
    entry = config_entry
    registry = er.async_get(hass)
    await setup_bridge(hass, entry, OWN_PLUG, {"switch": PLUG_TARGET})
    witness = SameSession(hass, entry)
    countdown = entity_id(hass, entry, "number", "point_countdown")
    power = entity_id(hass, entry, "sensor", "point_power")

    targets = {"switch": "input_boolean.plug", "countdown": "input_number.countdown"}
    await _mapping(hass, entry, targets, {"power": "power_w"})
    await wait_until(lambda: hass.states.get(countdown) is None)
    assert registry.async_get(countdown) is None
    assert _point_entities(hass, entry) == {"power", "energy", "overload"}
    assert state(hass, power).attributes["unit_of_measurement"] == "W"
    await hass.services.async_call(
        "input_number", "set_value", {"entity_id": "input_number.countdown", "value": 30}, True
    )
    await wait_until(lambda: entry.runtime_data.device.state.values["countdown"] == 30)
    witness.check()

    light = {**LIGHT, "product_key": PRODUCT_KEY}
    result = await options_step(hass, entry, "product")
    result = await _source(hass, result, "product_paste", {"product_json": json.dumps(light)})
    result = await past_units(hass, await _configure(hass, result, {}))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    names = {p["name"] for p in light["entities"][0]["attrs"]}
    await wait_until(lambda: _point_entities(hass, entry) == names)
    assert hass.states.get(power) is None
    shown = dr.async_get(hass).async_get(entry.runtime_data.device_id)
    assert shown is not None
    assert (shown.name, shown.model) == ("Dimmable Light", "Dimmable Light")
    assert entry.title == "Dimmable Light"
    app = P0App(await emulator.app(device.did), DataPointCodec.from_definition(light))
    try:
        assert set(await app.read()) == names
    finally:
        await app.app.close()
    witness.check()

    result = await options_step(hass, entry, "product")
    result = await _source(hass, result, "product_remove")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.runtime_data.bridge is None
    assert entry.runtime_data.device.points is None
    await wait_until(lambda: not _point_entities(hass, entry))
    assert not [s for s in hass.states.async_all() if s.attributes.get("data_point")]
    witness.check()


async def test_an_invalid_product_still_reloads_and_keeps_the_entities(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """A stored product that does not parse cannot be taken live: the entry reloads with a
    repair, and the native entities stay registered until the product is fixed."""
    entry = config_entry
    await setup_bridge(hass, entry, OWN_PLUG, {"switch": PLUG_TARGET})
    runtime = entry.runtime_data
    power = entity_id(hass, entry, "sensor", "point_power")
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_PRODUCT: {**OWN_PLUG, "entities": []}}
    )
    await hass.async_block_till_done()
    await wait_until(
        lambda: entry.state is ConfigEntryState.LOADED and entry.runtime_data is not runtime
    )
    assert entry.runtime_data.bridge is None
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"invalid_product_{entry.entry_id}")
    assert er.async_get(hass).async_get(power) is not None
