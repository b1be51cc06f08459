"""Set-up, unload, reload, removal and restart of a config entry, against the real emulator."""

from __future__ import annotations

import asyncio
from dataclasses import replace
import logging
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

import custom_components.gizwits_device as integration
from custom_components.gizwits_device import endpoint as endpoint_module, issues as issues_module
from custom_components.gizwits_device.const import CONF_DID, CONF_PASSCODE, DOMAIN
from custom_components.gizwits_device.protocol import ConnectionState, FirmwareType
from tests.fault.proxy import ConnackHold
from tests.integration.conftest import FAST_TIMING

from .helpers import TestDevice, broker_client_count, entity_id, state, wait_state, wait_until

if TYPE_CHECKING:
    from emulator.server import Emulator


def _reauth_flows(hass: HomeAssistant, entry: MockConfigEntry) -> list[Any]:
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"].get("source") == SOURCE_REAUTH
        and flow["context"].get("entry_id") == entry.entry_id
    ]


async def test_setup_and_unload_leave_nothing_behind(
    hass: HomeAssistant, emulator: Emulator, setup_integration: MockConfigEntry
) -> None:
    """LOADED while logged in; unloading ends the session and the broker's connection."""
    entry = setup_integration
    coordinator = entry.runtime_data.coordinator
    session = entry.runtime_data.device.session
    forwarder = entry.runtime_data.log_forwarder
    assert coordinator.connected
    assert session.status.state is ConnectionState.CONNECTED
    # protocol.md §4: the device asks for the online app count after connecting.
    await emulator.cloud.wait_online_app_requests(1)
    connected_before = broker_client_count(emulator)

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.NOT_LOADED
    assert session.status.state is ConnectionState.STOPPED
    assert forwarder.logger_names == []
    # The broker dropped the device's connection (the cloud agent stays).
    await wait_until(lambda: broker_client_count(emulator) == connected_before - 1)
    # Entities stay registered but have no live state source.
    sensor = entity_id(hass, entry, "sensor", "online_apps")
    assert state(hass, sensor).state == "unavailable"


async def test_unload_while_the_login_waits_for_the_connack(
    hass: HomeAssistant,
    emulator: Emulator,
    config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Unloaded while a login waits for its CONNACK (a frozen broker): that connection is
    closed, and when the broker drops it nothing raises in an event loop callback (the hass
    fixture fails the test on one)."""
    # A long keepalive: paho's own keepalive check must not be what closes the socket.
    monkeypatch.setattr(endpoint_module, "SESSION_TIMING", replace(FAST_TIMING, keepalive=60))
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    async with ConnackHold(emulator.broker.port) as hold:
        emulator.state.m2m_port = hold.port  # the next provision hands out the proxy
        await emulator.broker.restart()
        async with asyncio.timeout(30):
            await hold.connect_sent.wait()
        assert await hass.config_entries.async_unload(config_entry.entry_id)
        assert config_entry.state is ConfigEntryState.NOT_LOADED
        async with asyncio.timeout(30):
            await hold.closed.wait()
    # Leaving the proxy drops whatever is still open, as the broker would.
    await hass.async_block_till_done()


async def test_reload_logs_in_again_with_the_same_did(
    hass: HomeAssistant, emulator: Emulator, setup_integration: MockConfigEntry
) -> None:
    """A reload sets the entry up again: same DID, logged in again, no new registration."""
    entry = setup_integration
    did = entry.data[CONF_DID]
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.coordinator.connected
    assert entry.data[CONF_DID] == did
    assert list(emulator.state.devices) == [did]


@pytest.mark.parametrize("kind", ["status", "hang"])
async def test_gservice_unreachable_is_not_ready(
    hass: HomeAssistant,
    emulator: Emulator,
    config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    """GService failing or hanging on provision → ConfigEntryNotReady (SETUP_RETRY)."""
    monkeypatch.setattr(integration, "CONNECT_TIMEOUT", 0.5)
    emulator.state.inject_fault("provision", kind, count=1000)  # type: ignore[arg-type]

    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()

    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    assert config_entry.reason is not None
    # Nothing of the failed attempt keeps running; unloading cancels the retry.
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.NOT_LOADED


async def test_broker_unreachable_is_not_ready(
    hass: HomeAssistant,
    emulator: Emulator,
    config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GService answers but the M2M broker does not → ConfigEntryNotReady with the error."""
    monkeypatch.setattr(integration, "CONNECT_TIMEOUT", 1.0)
    emulator.state.m2m_port = 1  # nothing listens there
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    assert await hass.config_entries.async_unload(config_entry.entry_id)


async def _assert_auth_failed(
    hass: HomeAssistant, entry: MockConfigEntry, issue_registry: ir.IssueRegistry
) -> None:
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert len(_reauth_flows(hass, entry)) == 1
    _assert_one_repair_for_the_reauth(entry, issue_registry)


def _assert_one_repair_for_the_reauth(
    entry: MockConfigEntry, issue_registry: ir.IssueRegistry
) -> None:
    """Home Assistant's own re-authentication repair, and no second one of ours (issue 8.8)."""
    assert [(i.domain, i.issue_id) for i in issue_registry.issues.values()] == [
        ("homeassistant", f"config_entry_reauth_{DOMAIN}_{entry.entry_id}")
    ]


async def test_disabled_did_fails_auth_with_reauth_and_repair(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A DID disabled at GService (protocol.md §2): ConfigEntryAuthFailed, reauth, repair."""
    emulator.state.disable(device.did, device.passcode)
    await emulator.settle()
    await _assert_auth_failed(hass, config_entry, issue_registry)


async def test_wrong_passcode_fails_auth(
    hass: HomeAssistant,
    emulator: Emulator,
    config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """The broker refuses the login (CONNACK 4/5) → the same auth failure path."""
    hass.config_entries.async_update_entry(
        config_entry, data={**config_entry.data, CONF_PASSCODE: "not-the-passcode"}
    )
    await _assert_auth_failed(hass, config_entry, issue_registry)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_did_disabled_while_loaded(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Disabled while connected: the broker drops it, the next login is refused → repair."""
    entry = setup_integration
    connectivity = entity_id(hass, entry, "binary_sensor", "connectivity")
    emulator.state.disable(device.did, device.passcode)
    await emulator.settle()

    await wait_until(lambda: len(_reauth_flows(hass, entry)) == 1)
    await hass.async_block_till_done()
    _assert_one_repair_for_the_reauth(entry, issue_registry)
    await wait_state(hass, connectivity, lambda s: s.state == "off")
    assert state(hass, entity_id(hass, entry, "sensor", "connection_state")).state == "auth_failed"
    assert state(hass, entity_id(hass, entry, "sensor", "log_level")).state == "unavailable"


@pytest.mark.parametrize("status", [401, 403, 404])
async def test_bare_http_refusal_is_unreachable_not_a_reauth(
    hass: HomeAssistant,
    emulator: Emulator,
    setup_integration: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
) -> None:
    """protocol.md §7 ruling: a bare 401/403/404 on provision (no Gizwits error code) keeps
    the §2 backoff running and leads to the unreachable repair, never to re-authentication."""
    entry = setup_integration
    issue_registry = ir.async_get(hass)
    monkeypatch.setattr(issues_module, "UNREACHABLE_REPAIR_AFTER", 0.0)
    emulator.state.inject_fault("provision", "status", count=1000, status=status)
    await emulator.broker.restart()
    await wait_until(
        lambda: issue_registry.async_get_issue(DOMAIN, f"unreachable_{entry.entry_id}")
    )
    await wait_until(lambda: entry.runtime_data.coordinator.data.status.failures >= 2)
    assert _reauth_flows(hass, entry) == []
    emulator.state.clear_faults()
    await wait_until(lambda: entry.runtime_data.coordinator.connected)
    assert issue_registry.async_get_issue(DOMAIN, f"unreachable_{entry.entry_id}") is None


async def test_remove_disables_the_did(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
) -> None:
    """Removing the entry disables its DID at GService (a reset device, protocol.md §2)."""
    assert emulator.state.devices[device.did].enabled
    await hass.config_entries.async_remove(setup_integration.entry_id)
    await hass.async_block_till_done()
    assert not emulator.state.devices[device.did].enabled
    assert hass.config_entries.async_get_entry(setup_integration.entry_id) is None


async def test_remove_succeeds_when_gservice_is_down(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An unreachable GService must not block removal; a warning says the DID stays."""
    emulator.state.inject_fault("disable", "status", count=10)
    with caplog.at_level(logging.WARNING):
        await hass.config_entries.async_remove(setup_integration.entry_id)
        await hass.async_block_till_done()
    assert hass.config_entries.async_get_entry(setup_integration.entry_id) is None
    assert emulator.state.devices[device.did].enabled
    assert "could not disable its DID" in caplog.text
    # The DID (a secret) is not in the log.
    assert device.did not in caplog.text


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_restart_keeps_did_and_log_level(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """protocol.md §4: the 0x0010 setting survives a restart (Store); the DID is kept."""
    entry = setup_integration
    app = await emulator.app(device.did)
    await app.set_log_level(0x0102)
    log_level = entity_id(hass, entry, "sensor", "log_level")
    await wait_state(hass, log_level, lambda s: s.state == "0x0102")
    await hass.async_block_till_done()
    stored = hass_storage[f"{DOMAIN}.{entry.entry_id}"]
    assert stored["data"]["log_level"] == 0x0102

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    assert entry.data[CONF_DID] == device.did
    assert list(emulator.state.devices) == [device.did]
    assert entry.runtime_data.coordinator.data.log_level == 0x0102
    assert state(hass, log_level).state == "0x0102"


async def test_start_from_stored_state(
    hass: HomeAssistant,
    emulator: Emulator,
    config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """What a previous run stored (the Store file) is loaded; unknown firmware types ignored."""
    hass_storage[f"{DOMAIN}.{config_entry.entry_id}"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"{DOMAIN}.{config_entry.entry_id}",
        "data": {"log_level": 0x0100, "current_fid": {"1": 1234, "2": 77, "9": 5}},
    }
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    data = config_entry.runtime_data.coordinator.data
    assert data.log_level == 0x0100
    assert data.firmware.current_fid == {FirmwareType.WIFI: 1234, FirmwareType.MCU: 77}
    indicator = entity_id(hass, config_entry, "binary_sensor", "indicator")
    assert state(hass, indicator).state == "on"


async def test_update_entity_works_on_every_entity(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """homeassistant.update_entity refreshes from the pushed state; nothing fails or polls."""
    assert await async_setup_component(hass, "homeassistant", {})
    entities = [
        entry.entity_id
        for entry in er.async_entries_for_config_entry(entity_registry, setup_integration.entry_id)
        if entry.disabled_by is None
    ]
    assert len(entities) >= 8
    await hass.services.async_call(
        "homeassistant", "update_entity", {"entity_id": entities}, blocking=True
    )
    await hass.async_block_till_done()
    assert "fails" not in caplog.text
    assert (
        state(hass, entity_id(hass, setup_integration, "binary_sensor", "connectivity")).state
        == "on"
    )


async def test_yaml_configuration_is_not_supported(hass: HomeAssistant) -> None:
    """The integration sets up from config entries only; async_setup registers services."""
    assert await async_setup_component(hass, DOMAIN, {})
    assert hass.services.has_service(DOMAIN, "send_passthrough")
    assert hass.services.has_service(DOMAIN, "send_log")
