"""Every flow (set-up, options, re-authentication, reconfiguration) ends without Home Assistant
logging a deprecation, and still restarts the session where new data needs one (protocol.md §2,
§7): the update listener schedules the reload, not the flow."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gizwits_device.config_flow import SECTION_ADVANCED, VERSION_KEYS
from custom_components.gizwits_device.const import (
    CONF_DID,
    CONF_INDICATOR_BIT,
    CONF_LOG_FORWARD_LEVEL,
    CONF_MCU_SOFT_VERSION,
    CONF_PASSCODE,
    CONF_REGION,
)
from tests.integration.test_config_flow import start_user, submit_user, user_input

if TYPE_CHECKING:
    from emulator.server import Emulator

pytestmark = pytest.mark.usefixtures("unload_entries")

# What Home Assistant's usage reports and deprecation helpers log.
_DEPRECATION_WORDS = ("deprecat", "will stop working", "breaks in", "2026.12", "2027.")


def assert_no_deprecation(caplog: pytest.LogCaptureFixture) -> None:
    """No record of the run mentions a deprecation or a Home Assistant version deadline."""
    found = [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.WARNING
        and any(word in record.getMessage().lower() for word in _DEPRECATION_WORDS)
    ]
    assert found == []


async def test_config_flow_logs_no_deprecation(
    hass: HomeAssistant, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Adding a device: registered, logged in, loaded; nothing deprecated on the way."""
    result = await submit_user(hass, await start_user(hass), user_input(emulator))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert result["result"].state is ConfigEntryState.LOADED
    assert_no_deprecation(caplog)


async def test_options_flow_logs_no_deprecation(
    hass: HomeAssistant, setup_integration: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """Settings are applied live: same session, no reload, nothing deprecated."""
    entry = setup_integration
    coordinator = entry.runtime_data.coordinator
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "settings"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_LOG_FORWARD_LEVEL: "warning", CONF_INDICATOR_BIT: 3}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.runtime_data.coordinator is coordinator
    assert entry.options[CONF_INDICATOR_BIT] == 3
    assert_no_deprecation(caplog)


async def test_reauth_of_a_loaded_entry_reloads_without_deprecation(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Re-authenticating a loaded entry (the flow registers the device again with a new
    passcode, protocol.md §7): its update listener restarts the session with it, and again
    with unchanged credentials, which Home Assistant also reloads."""
    entry = setup_integration
    for passcode in ("NewPasscode", "NewPasscode"):
        coordinator = entry.runtime_data.coordinator
        result = await entry.start_reauth_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_PASSCODE: passcode}
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reauth_successful"
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        assert entry.data[CONF_PASSCODE] == passcode
        assert entry.runtime_data.coordinator is not coordinator
        assert entry.runtime_data.coordinator.connected
    assert entry.data[CONF_DID]
    assert_no_deprecation(caplog)


async def test_reconfigure_reloads_without_deprecation(
    hass: HomeAssistant, setup_integration: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """Reconfiguring only the MCU soft version still restarts the session (the LAN side
    announces the versions it was built with); nothing deprecated is logged."""
    entry = setup_integration
    coordinator = entry.runtime_data.coordinator
    result = await entry.start_reconfigure_flow(hass)
    versions = {key: entry.data[key] for key in VERSION_KEYS}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_REGION: "custom",
            SECTION_ADVANCED: {**versions, CONF_MCU_SOFT_VERSION: "00000009"},
        },
    )
    assert result["step_id"] == "reconfigure_url"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"base_url": entry.data["base_url"]}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data[CONF_MCU_SOFT_VERSION] == "00000009"
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.coordinator is not coordinator
    assert_no_deprecation(caplog)
