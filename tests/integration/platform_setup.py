"""Set up an entry with only one platform loaded (what `snapshot_platform` requires)."""

from __future__ import annotations

from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry


async def setup_platform(hass: HomeAssistant, entry: MockConfigEntry, platform: Platform) -> None:
    """Set `entry` up (logged in to the emulator) with `platform` as its only platform."""
    with patch("custom_components.gizwits_device.PLATFORMS", [platform]):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
