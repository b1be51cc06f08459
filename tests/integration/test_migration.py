"""Config entry migration: each shape version 1.1 stored becomes version 1.2 at set-up."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gizwits_device.const import (
    CONF_AUTO_TITLE,
    CONF_MAPPING,
    CONF_MCU_HARD_VERSION,
    CONF_MCU_SOFT_VERSION,
    CONF_PRODUCT,
    CONF_WIFI_HARD_VERSION,
    CONF_WIFI_SOFT_VERSION,
    DEFAULT_HARD_VERSION,
    DEFAULT_SOFT_VERSION,
    DOMAIN,
    ENTRY_MINOR_VERSION,
    ENTRY_VERSION,
)
from custom_components.gizwits_device.migration import (
    LEGACY_ISSUE_DID_REJECTED,
    async_migrate_entry,
    migrate_mapping,
    migrate_versions,
)
from emulator.server import Emulator
from tests.integration.bridge_helpers import LIGHT, setup_helper_entities
from tests.integration.conftest import TestDevice, entry_data

pytestmark = pytest.mark.usefixtures("unload_entries")

LIGHT_MAPPING_1_1 = {
    "on_off": "light.lamp",  # a bare entity ID
    "brightness": {"entity_id": "light.lamp"},  # no attribute
    "mode": {"entity_id": "input_select.mode", "attribute": None},  # already current
}
LIGHT_MAPPING_1_2 = {
    "on_off": {"entity_id": "light.lamp", "attribute": None},
    "brightness": {"entity_id": "light.lamp", "attribute": "brightness"},
    "mode": {"entity_id": "input_select.mode", "attribute": None},
}


def _old_entry(
    hass: HomeAssistant, emulator: Emulator, device: TestDevice, **changes: Any
) -> MockConfigEntry:
    """An entry as integration 0.1.0 (config entry version 1.1) stored it."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=1,
        minor_version=1,
        unique_id=f"{device.product_key}_{device.mac}",
        **{
            "title": f"Gizwits {device.product_key[-6:]} {device.mac[-6:]}",
            "data": entry_data(emulator, device),
            **changes,
        },
    )
    entry.add_to_hass(hass)
    return entry


async def _set_up(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def test_every_old_shape_becomes_current(
    hass: HomeAssistant, emulator: Emulator, device: TestDevice
) -> None:
    """Short, missing and unusable versions, the first releases' title, old mapping targets and
    the retired "did rejected" repair: all migrated, and the entry loads (LAN side included)."""
    await setup_helper_entities(hass)
    data = entry_data(emulator, device)
    data[CONF_WIFI_SOFT_VERSION] = "ESP8266"  # before versions were padded to 8 characters
    data[CONF_MCU_SOFT_VERSION] = "3"
    data[CONF_WIFI_HARD_VERSION] = "not a version!"
    del data[CONF_MCU_HARD_VERSION]
    entry = _old_entry(
        hass,
        emulator,
        device,
        data=data,
        options={CONF_PRODUCT: LIGHT, CONF_MAPPING: LIGHT_MAPPING_1_1},
    )
    legacy = entry.title
    ir.async_create_issue(
        hass,
        DOMAIN,
        f"{LEGACY_ISSUE_DID_REJECTED}_{entry.entry_id}",
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=LEGACY_ISSUE_DID_REJECTED,
    )

    await _set_up(hass, entry)

    assert entry.state is ConfigEntryState.LOADED
    assert (entry.version, entry.minor_version) == (ENTRY_VERSION, ENTRY_MINOR_VERSION)
    assert entry.data[CONF_WIFI_SOFT_VERSION] == "0ESP8266"
    assert entry.data[CONF_MCU_SOFT_VERSION] == "00000003"
    assert entry.data[CONF_WIFI_HARD_VERSION] == DEFAULT_HARD_VERSION
    assert entry.data[CONF_MCU_HARD_VERSION] == DEFAULT_HARD_VERSION
    assert entry.options[CONF_MAPPING] == LIGHT_MAPPING_1_2
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, f"{LEGACY_ISSUE_DID_REJECTED}_{entry.entry_id}")
        is None
    )
    # The first releases' title was the integration's: it now follows the product.
    assert legacy != "Dimmable Light"
    assert entry.title == "Dimmable Light"
    assert entry.data[CONF_AUTO_TITLE] == "Dimmable Light"
    # The LAN apps see the migrated versions (0x0014 module info).
    module_info = entry.runtime_data.lan.device.module_info  # type: ignore[union-attr]
    assert module_info.wifi_soft_version == "0ESP8266"


async def test_a_title_the_user_typed_is_kept(
    hass: HomeAssistant, emulator: Emulator, device: TestDevice
) -> None:
    entry = _old_entry(hass, emulator, device, title="Hall plug")
    await _set_up(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    assert entry.minor_version == ENTRY_MINOR_VERSION
    assert entry.title == "Hall plug"
    assert CONF_AUTO_TITLE not in entry.data
    assert entry.options == {}


async def test_an_entry_from_a_newer_major_version_is_refused(
    hass: HomeAssistant, emulator: Emulator, device: TestDevice
) -> None:
    """Home Assistant marks it failed to migrate; nothing stored is changed.

    (Home Assistant refuses a newer major version itself; the migration refuses it too when
    called with one, see the next test.)"""
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=ENTRY_VERSION + 1,
        minor_version=1,
        title="From the future",
        data={**entry_data(emulator, device), "new_key": 1},
    )
    entry.add_to_hass(hass)
    stored = dict(entry.data)
    await _set_up(hass, entry)
    assert entry.state is ConfigEntryState.MIGRATION_ERROR
    assert entry.data == stored
    assert entry.version == ENTRY_VERSION + 1


async def test_migration_refuses_a_newer_major_and_keeps_a_current_entry(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    caplog: pytest.LogCaptureFixture,
) -> None:
    future = MockConfigEntry(domain=DOMAIN, version=ENTRY_VERSION + 1, title="From the future")
    future.add_to_hass(hass)
    assert await async_migrate_entry(hass, future) is False
    assert "saved by a newer release" in caplog.text
    assert future.version == ENTRY_VERSION + 1

    current = MockConfigEntry(
        domain=DOMAIN,
        version=ENTRY_VERSION,
        minor_version=ENTRY_MINOR_VERSION,
        title=f"Gizwits {device.product_key[-6:]} {device.mac[-6:]}",
        data=entry_data(emulator, device),
    )
    current.add_to_hass(hass)
    assert await async_migrate_entry(hass, current) is True
    # At 1.2 such a title is the user's (nothing records it as the integration's).
    assert CONF_AUTO_TITLE not in current.data


def test_migrate_versions_pads_and_defaults() -> None:
    versions = migrate_versions({CONF_WIFI_HARD_VERSION: "12", CONF_MCU_SOFT_VERSION: "123456789"})
    assert versions == {
        CONF_WIFI_HARD_VERSION: "00000012",
        CONF_WIFI_SOFT_VERSION: DEFAULT_SOFT_VERSION,
        CONF_MCU_HARD_VERSION: DEFAULT_HARD_VERSION,
        CONF_MCU_SOFT_VERSION: DEFAULT_SOFT_VERSION,  # 9 characters cannot be sent
    }


def test_migrate_mapping_without_a_usable_product() -> None:
    """Targets get the attribute key; without a valid product none is chosen for them."""
    assert migrate_mapping({}) is None
    assert migrate_mapping({CONF_MAPPING: {"switch": "switch.s"}}) == {
        "switch": {"entity_id": "switch.s", "attribute": None}
    }
    assert migrate_mapping({CONF_MAPPING: LIGHT_MAPPING_1_2, CONF_PRODUCT: LIGHT}) is None
    assert migrate_mapping(
        {CONF_PRODUCT: {"not": "a product"}, CONF_MAPPING: {"brightness": "light.lamp"}}
    ) == {"brightness": {"entity_id": "light.lamp", "attribute": None}}
