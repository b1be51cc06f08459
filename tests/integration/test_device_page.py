"""What the device page shows: names, model, DID; the passcode only where the owner asks."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.gizwits_device.const import (
    CONF_MAPPING,
    CONF_PRODUCT,
    DOMAIN,
    ENTRY_MINOR_VERSION,
)
from custom_components.gizwits_device.naming import default_title, unique_title
from tests.conftest import PRODUCT_KEY
from tests.integration.bridge_helpers import PLUG
from tests.integration.conftest import MAC, PASSCODE, TestDevice, entry_data

if TYPE_CHECKING:
    from emulator.server import Emulator

OWN_PLUG = {**PLUG, "product_key": PRODUCT_KEY}


def _device(hass: HomeAssistant, entry: MockConfigEntry) -> dr.DeviceEntry:
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, str(entry.unique_id)), entry.entry_id
    )
    assert device is not None
    return device


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def test_device_page_before_and_with_a_product(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    device: TestDevice,
    config_entry: MockConfigEntry,
) -> None:
    """A short default name, the key as model ID, the DID as serial number; no half MAC."""
    entry = config_entry
    await _setup(hass, entry)
    assert entry.title == "Gizwits device"
    page = _device(hass, entry)
    assert page.name == "Gizwits device"
    assert page.model is None
    assert page.model_id == PRODUCT_KEY
    assert page.serial_number == device.did
    assert page.manufacturer == "Gizwits"

    diagnostics = json.dumps(await get_diagnostics_for_config_entry(hass, hass_client, entry))
    for secret in (MAC[-6:], MAC, device.did, PASSCODE):
        assert secret not in diagnostics

    # A product definition names the entry and the device, and is the model.
    hass.config_entries.async_update_entry(
        entry, options={CONF_PRODUCT: OWN_PLUG, CONF_MAPPING: {}}
    )
    await hass.async_block_till_done()
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.title == "Smart Plug"
    page = _device(hass, entry)
    assert (page.name, page.model, page.model_id) == ("Smart Plug", "Smart Plug", PRODUCT_KEY)

    # Without it again: back to the default.
    hass.config_entries.async_update_entry(entry, options={})
    await hass.async_block_till_done()
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.title == "Gizwits device"
    assert _device(hass, entry).model is None


async def test_a_title_the_user_chose_stays(
    hass: HomeAssistant, emulator: Emulator, device: TestDevice, unload_entries: None
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Kitchen plug",
        minor_version=ENTRY_MINOR_VERSION,
        unique_id=f"{device.product_key}_{device.mac}",
        data=entry_data(emulator, device),
        options={CONF_PRODUCT: OWN_PLUG, CONF_MAPPING: {}},
    )
    entry.add_to_hass(hass)
    await _setup(hass, entry)
    assert entry.title == "Kitchen plug"
    assert _device(hass, entry).model == "Smart Plug"


def test_default_titles_are_numbered() -> None:
    assert unique_title("Smart Plug", ["Smart Plug", "Smart Plug 2"]) == "Smart Plug 3"
    assert default_title([]) == "Gizwits device"
    taken = [MockConfigEntry(domain=DOMAIN, title="Gizwits device")]
    assert default_title(taken) == "Gizwits device 2"


async def test_credentials_are_shown_only_where_asked(
    hass: HomeAssistant,
    device: TestDevice,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Configure → Device ID and passcode shows both in a closing message (no Submit that does
    nothing); nothing is saved, nothing is logged."""
    caplog.set_level(logging.DEBUG)
    await _setup(hass, config_entry)
    options = dict(config_entry.options)
    result = await hass.config_entries.options.async_init(config_entry.entry_id)
    assert result["menu_options"] == ["product", "settings", "local_network", "credentials"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "credentials"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "credentials"
    assert result["description_placeholders"] == {
        "did": device.did,
        "passcode": PASSCODE,
        "product_key": PRODUCT_KEY,
    }
    assert dict(config_entry.options) == options
    assert PASSCODE not in caplog.text
