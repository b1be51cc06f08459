"""Every platform's entities (registry entry + state), on the fake session (no broker).

The dimmable light's points are all native here (no mapping), so the native switch, number,
select and binary sensor are in the snapshots next to the device's own entities. The local
network's entities are snapshotted with the LAN service on loopback (its only sockets here).
"""

from __future__ import annotations

from unittest.mock import patch

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.gizwits_device import PLATFORMS
from custom_components.gizwits_device.const import CONF_LAN_ENABLED, CONF_MAPPING, CONF_PRODUCT
from tests.products import product_json

from .fake_session import FakeSessionControl

LIGHT = product_json("dimmable_light")
# The button (Allow app binding) belongs to the local network, off in the first test.
CLOUD_PLATFORMS = [platform for platform in PLATFORMS if platform is not Platform.BUTTON]
# Where the local network adds entities: the button, its binary sensors, the local apps sensor.
LAN_PLATFORMS = [Platform.BINARY_SENSOR, Platform.BUTTON, Platform.SENSOR]


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("platform", CLOUD_PLATFORMS)
async def test_platform_entities(
    hass: HomeAssistant,
    *,
    config_entry: MockConfigEntry,
    mock_session: FakeSessionControl,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    platform: Platform,
) -> None:
    """Registry entries and states of one platform right after set-up."""
    hass.config_entries.async_update_entry(
        config_entry, options={CONF_PRODUCT: LIGHT, CONF_MAPPING: {}}
    )
    with patch("custom_components.gizwits_device.PLATFORMS", [platform]):
        assert await hass.config_entries.async_setup(config_entry.entry_id)
        await hass.async_block_till_done()
    await snapshot_platform(hass, entity_registry, snapshot, config_entry.entry_id)


@pytest.mark.usefixtures("entity_registry_enabled_by_default", "socket_enabled", "lan_loopback")
@pytest.mark.parametrize("platform", LAN_PLATFORMS)
async def test_platform_entities_with_the_local_network(
    hass: HomeAssistant,
    *,
    config_entry: MockConfigEntry,
    mock_session: FakeSessionControl,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    platform: Platform,
) -> None:
    """The same with the local network on: its entities join the device's own."""
    hass.config_entries.async_update_entry(config_entry, options={CONF_LAN_ENABLED: True})
    with patch("custom_components.gizwits_device.PLATFORMS", [platform]):
        assert await hass.config_entries.async_setup(config_entry.entry_id)
        await hass.async_block_till_done()
    await snapshot_platform(hass, entity_registry, snapshot, config_entry.entry_id)
    assert await hass.config_entries.async_unload(config_entry.entry_id)
