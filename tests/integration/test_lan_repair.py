"""The local network without an interface to listen on (protocol.md §8): a repair names the
device, its fix flow opens the interface choice, and the repair goes once the device answers
apps again (or the local network is turned off)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.repairs import ConfirmRepairFlow, repairs_flow_manager
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gizwits_device import lan, repairs
from custom_components.gizwits_device.const import (
    CONF_LAN_ENABLED,
    CONF_LAN_INTERFACES,
    CONF_LAN_STATUS_BROADCAST,
    DOMAIN,
)

from .helpers import entity_id, state
from .lan_helpers import lan_service, vars_of

if TYPE_CHECKING:
    from homeassistant.components.repairs.issue_handler import RepairsFlowManager


def _pin(monkeypatch: pytest.MonkeyPatch, ports: lan.LanPorts, interfaces: tuple[str, ...]) -> None:
    monkeypatch.setattr(
        lan, "LAN_PORTS", lan.LanPorts(**{**vars_of(ports), "interfaces": interfaces})
    )


def _issue_id(entry: MockConfigEntry) -> str:
    return f"lan_no_interface_{entry.entry_id}"


async def _set_up_without_interface(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    ports: lan.LanPorts,
) -> RepairsFlowManager:
    assert await async_setup_component(hass, "repairs", {})
    _pin(monkeypatch, ports, ())
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    issue = ir.async_get(hass).async_get_issue(DOMAIN, _issue_id(entry))
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_key == "lan_no_interface"
    assert issue.translation_placeholders == {"title": entry.title}
    manager = repairs_flow_manager(hass)
    assert manager is not None
    return manager


async def _fix(manager: RepairsFlowManager, entry: MockConfigEntry, data: dict[str, Any]) -> None:
    result = await manager.async_init(DOMAIN, context={"issue_id": _issue_id(entry)})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "interfaces"
    assert result["description_placeholders"] == {"title": entry.title}
    # The same choice as the options' Local network step.
    assert {str(key) for key in result["data_schema"].schema} == {
        CONF_LAN_ENABLED,
        CONF_LAN_INTERFACES,
        CONF_LAN_STATUS_BROADCAST,
    }
    result = await manager.async_configure(result["flow_id"], data)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_the_fix_flow_retries_and_the_repair_goes_once_listening(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    lan_loopback: lan.LanPorts,
) -> None:
    """Without an address the repair appears; the fix flow's choice reloads the entry,
    which raises it again while there is still none and drops it once the device listens."""
    manager = await _set_up_without_interface(hass, config_entry, monkeypatch, lan_loopback)
    registry = ir.async_get(hass)

    await _fix(manager, config_entry, {CONF_LAN_ENABLED: True})
    await hass.async_block_till_done()
    assert registry.async_get_issue(DOMAIN, _issue_id(config_entry)) is not None

    _pin(monkeypatch, lan_loopback, ("127.0.0.1/8",))  # an address came on the chosen adapter
    await _fix(manager, config_entry, {CONF_LAN_ENABLED: True})
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED
    assert registry.async_get_issue(DOMAIN, _issue_id(config_entry)) is None
    assert lan_service(hass).listening
    network = state(hass, entity_id(hass, config_entry, "binary_sensor", "local_network"))
    assert network.state == "on"


async def test_turning_the_local_network_off_in_the_fix_flow_clears_the_repair(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    lan_loopback: lan.LanPorts,
) -> None:
    """Turning the local network off from the repair stores it in the options; no repair."""
    manager = await _set_up_without_interface(hass, config_entry, monkeypatch, lan_loopback)
    await _fix(manager, config_entry, {CONF_LAN_ENABLED: False})
    await hass.async_block_till_done()
    assert config_entry.options[CONF_LAN_ENABLED] is False
    assert config_entry.state is ConfigEntryState.LOADED
    assert ir.async_get(hass).async_get_issue(DOMAIN, _issue_id(config_entry)) is None


async def test_removing_the_entry_removes_the_repair(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    lan_loopback: lan.LanPorts,
) -> None:
    """The repair of a removed device goes with it; a fix flow left open says so."""
    manager = await _set_up_without_interface(hass, config_entry, monkeypatch, lan_loopback)
    result = await manager.async_init(DOMAIN, context={"issue_id": _issue_id(config_entry)})
    assert await hass.config_entries.async_remove(config_entry.entry_id)
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, _issue_id(config_entry)) is None
    result = await manager.async_configure(result["flow_id"], {CONF_LAN_ENABLED: True})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "entry_removed"


async def test_an_issue_without_its_entry_gets_the_plain_confirmation(hass: HomeAssistant) -> None:
    """A fixable issue of this integration that names no entry (none is raised so today) gets
    Home Assistant's plain confirmation instead of the interface choice."""
    flow = await repairs.async_create_fix_flow(hass, "lan_no_interface_gone", None)
    assert isinstance(flow, ConfirmRepairFlow)
    flow = await repairs.async_create_fix_flow(hass, "lan_no_interface_x", {"entry_id": "x"})
    assert isinstance(flow, repairs.LanInterfaceRepairFlow)
