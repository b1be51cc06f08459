"""Binary sensors: connectivity, logs enabled, indicator bit; the connection state sensor."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gizwits_device.const import CONF_INDICATOR_BIT

from .helpers import StateRecorder, TestDevice, entity_id, state, wait_state, wait_until

if TYPE_CHECKING:
    from emulator.server import Emulator


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_connectivity_and_connection_state(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """Connected: connectivity on; the reconnect details are on the connection state sensor."""
    current = state(hass, entity_id(hass, setup_integration, "binary_sensor", "connectivity"))
    assert current.state == "on"
    assert current.attributes["device_class"] == "connectivity"
    assert "failed_attempts" not in current.attributes
    details = state(hass, entity_id(hass, setup_integration, "sensor", "connection_state"))
    assert details.state == "connected"
    assert details.attributes["failed_attempts"] == 0
    assert details.attributes["retry_in"] is None


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_logs_enabled_and_indicator(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
) -> None:
    """Any non-zero 0x0010 enables logs (protocol.md §4); the indicator is one chosen bit."""
    entry = setup_integration
    logs_enabled = entity_id(hass, entry, "binary_sensor", "logs_enabled")
    indicator = entity_id(hass, entry, "binary_sensor", "indicator")
    assert state(hass, logs_enabled).state == "off"
    assert state(hass, indicator).state == "off"
    app = await emulator.app(device.did)

    await app.set_log_level(0x0001)
    await wait_state(hass, logs_enabled, lambda s: s.state == "on")
    assert state(hass, indicator).state == "off"  # default indicator bit is 8

    await app.set_log_level(0x0100)
    await wait_state(hass, indicator, lambda s: s.state == "on")
    assert state(hass, logs_enabled).state == "on"

    # Choosing another bit applies at once, without a reload.
    coordinator = entry.runtime_data.coordinator
    hass.config_entries.async_update_entry(entry, options={CONF_INDICATOR_BIT: 9})
    await wait_state(hass, indicator, lambda s: s.state == "off")
    assert entry.runtime_data.coordinator is coordinator

    await app.set_log_level(0)
    await wait_state(hass, logs_enabled, lambda s: s.state == "off")


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_broker_stall_makes_entities_unavailable(
    hass: HomeAssistant,
    emulator: Emulator,
    setup_integration: MockConfigEntry,
) -> None:
    """SIGSTOPped broker: heartbeats go unanswered (protocol.md §2) → unavailable, then back."""
    entry = setup_integration
    connectivity = entity_id(hass, entry, "binary_sensor", "connectivity")
    connection_state = entity_id(hass, entry, "sensor", "connection_state")
    others = [
        entity_id(hass, entry, "binary_sensor", "indicator"),
        entity_id(hass, entry, "sensor", "online_apps"),
        entity_id(hass, entry, "update", "wifi_firmware"),
        entity_id(hass, entry, "event", "app_command"),
    ]
    emulator.broker.pause()
    try:
        await wait_state(hass, connectivity, lambda s: s.state == "off")
        down = state(hass, connection_state)
        assert down.state in ("connecting", "waiting")
        await wait_state(hass, connection_state, lambda s: s.attributes["failed_attempts"] >= 1)
        for entity in others:
            assert state(hass, entity).state == STATE_UNAVAILABLE
    finally:
        emulator.broker.resume()

    await wait_state(hass, connectivity, lambda s: s.state == "on")
    up = state(hass, connection_state)
    assert up.state == "connected"
    assert up.attributes["failed_attempts"] == 0
    for entity in others:
        assert state(hass, entity).state != STATE_UNAVAILABLE


async def test_logs_enabled_is_disabled_by_default(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Quality scale entity-disabled-by-default: the redundant diagnostic is off until enabled."""
    entries = er.async_entries_for_config_entry(entity_registry, setup_integration.entry_id)
    logs_enabled = next(e for e in entries if e.unique_id.endswith("_logs_enabled"))
    assert logs_enabled.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert hass.states.get(logs_enabled.entity_id) is None


async def test_an_outage_changes_each_shown_entity_once(
    hass: HomeAssistant,
    emulator: Emulator,
    setup_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """An outage with several failed attempts (protocol.md §2): Connectivity, the one
    connection entity shown, goes off once and on once, and no entity enabled by default
    changes with each attempt: the logbook gets one row for the outage and one for the
    recovery (the attempts are on the Connection state sensor, disabled by default)."""
    entry = setup_integration
    connectivity = entity_id(hass, entry, "binary_sensor", "connectivity")
    shown = [
        e.entity_id
        for e in er.async_entries_for_config_entry(entity_registry, entry.entry_id)
        if e.disabled_by is None
    ]
    assert connectivity in shown
    assert entity_id(hass, entry, "sensor", "connection_state") not in shown
    recorders = {entity: StateRecorder(hass, entity) for entity in shown}
    coordinator = entry.runtime_data.coordinator
    emulator.broker.pause()
    try:
        await wait_until(lambda: coordinator.data.status.failures >= 2)
    finally:
        emulator.broker.resume()
    await wait_state(hass, connectivity, lambda s: s.state == "on")
    await hass.async_block_till_done()

    assert [s.state for s in recorders[connectivity].states] == ["off", "on"]
    for entity, recorder in recorders.items():
        states = [s.state for s in recorder.states]
        changes = [new for old, new in zip([None, *states], states, strict=False) if new != old]
        assert len(changes) <= 2, (entity, states)


async def test_entities_before_a_product(
    hass: HomeAssistant, setup_integration: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """Before any product: the essentials are shown, the diagnostics that restate another
    entity or only matter when debugging are disabled by default; one connection entity."""
    entries = er.async_entries_for_config_entry(entity_registry, setup_integration.entry_id)
    prefix = f"{setup_integration.unique_id}_"
    shown = sorted(e.unique_id.removeprefix(prefix) for e in entries if e.disabled_by is None)
    hidden = sorted(e.unique_id.removeprefix(prefix) for e in entries if e.disabled_by)
    assert shown == [
        "allow_app_binding",
        "app_binding",
        "app_command",
        "binding_ends",
        "connectivity",
        "firmware",
        "indicator",
        "last_log",
        "local_apps",
        "local_network",
        "mcu_firmware",
        "online_apps",
        "wifi_firmware",
    ]
    assert hidden == ["connection_state", "log_level", "logs_enabled"]
