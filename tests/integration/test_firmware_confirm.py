"""Confirming a flashed firmware (issue 8.6): errors, a version from elsewhere, restarts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from homeassistant.components.update import (
    ATTR_INSTALLED_VERSION,
    DOMAIN as UPDATE_DOMAIN,
    SERVICE_INSTALL,
)
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gizwits_device.const import CONF_MCU_SOFT_VERSION, DOMAIN
from custom_components.gizwits_device.protocol import FirmwareType
from emulator.state import FirmwareOffer as EmulatorOffer
from tests.conftest import PRODUCT_KEY

from .conftest import TestDevice
from .helpers import entity_id, state, wait_state, wait_until

if TYPE_CHECKING:
    from emulator.server import Emulator


@pytest.fixture
def config_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """A throw-away HA config dir for downloaded firmware."""
    hass.config.config_dir = str(tmp_path)
    return tmp_path


async def _confirm(hass: HomeAssistant, entry: MockConfigEntry, **data: Any) -> None:
    await hass.services.async_call(
        DOMAIN,
        "confirm_firmware_installed",
        {"config_entry_id": entry.entry_id, "firmware_type": "mcu", **data},
        blocking=True,
    )
    await hass.async_block_till_done()


async def _download_mcu(
    hass: HomeAssistant, emulator: Emulator, device: TestDevice, entry: MockConfigEntry
) -> str:
    emulator.state.set_offer(
        EmulatorOffer(firmware_type=2, soft_version="00000003", data=b"\x01" * 100),
        product_key=PRODUCT_KEY,
    )
    mcu = entity_id(hass, entry, "update", "mcu_firmware")
    await emulator.cloud.notify_ota_check(device.did, FirmwareType.MCU)
    await wait_state(hass, mcu, lambda s: s.state == "on")
    await hass.services.async_call(
        UPDATE_DOMAIN, SERVICE_INSTALL, {ATTR_ENTITY_ID: mcu}, blocking=True
    )
    return mcu


async def test_confirm_needs_a_download_or_a_version(
    hass: HomeAssistant, emulator: Emulator, device: TestDevice, setup_integration: MockConfigEntry
) -> None:
    """Nothing downloaded: say so; a version flashed by other means is taken and reported."""
    entry = setup_integration
    with pytest.raises(ServiceValidationError) as err:
        await _confirm(hass, entry)
    assert err.value.translation_key == "nothing_downloaded"
    with pytest.raises(ServiceValidationError) as err:
        await _confirm(hass, entry, version="not a version")
    assert err.value.translation_key == "invalid_version"
    await _confirm(hass, entry, version="7")
    assert entry.data[CONF_MCU_SOFT_VERSION] == "00000007"
    mcu = entity_id(hass, entry, "update", "mcu_firmware")
    assert state(hass, mcu).attributes[ATTR_INSTALLED_VERSION] == "00000007"
    assert emulator.state.devices[device.did].versions[2] == ("00000001", "00000007")


async def test_a_download_waits_across_a_restart(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
    config_dir: Path,
) -> None:
    """Downloaded firmware still waits to be flashed after a restart; confirming then works."""
    entry = setup_integration
    mcu = await _download_mcu(hass, emulator, device, entry)
    assert state(hass, mcu).attributes["firmware_state"] == "waiting_to_be_flashed"

    emulator.state.clear_offers()  # the cloud no longer offers it: it still waits
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    await wait_until(lambda: FirmwareType.MCU in coordinator.data.firmware.pending)
    current = state(hass, mcu)
    assert current.state == "on"
    assert current.attributes["firmware_state"] == "waiting_to_be_flashed"
    assert current.attributes["latest_version"] == "00000003"

    await _confirm(hass, entry)
    current = state(hass, mcu)
    assert current.state == "off"
    assert current.attributes[ATTR_INSTALLED_VERSION] == "00000003"


async def test_waiting_is_said_in_chinese(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    config_entry: MockConfigEntry,
    config_dir: Path,
) -> None:
    """The release summary is in Home Assistant's language."""
    await hass.config.async_update(language="zh-Hans")
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    mcu = await _download_mcu(hass, emulator, device, config_entry)
    assert state(hass, mcu).attributes["release_summary"].startswith("已下载")
