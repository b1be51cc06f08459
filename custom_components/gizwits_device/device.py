"""The one HA device of a config entry: what the device page shows, and its registry id."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import CONNECTION_NETWORK_MAC, DeviceInfo, format_mac

from .const import (
    CONF_DID,
    CONF_MAC,
    CONF_MCU_HARD_VERSION,
    CONF_MCU_SOFT_VERSION,
    CONF_PRODUCT_KEY,
    CONF_WIFI_HARD_VERSION,
    CONF_WIFI_SOFT_VERSION,
    DOMAIN,
    SOFT_VERSION_KEYS,
)
from .naming import product_name
from .protocol.device import Device, DeviceState

if TYPE_CHECKING:
    from .runtime import GizwitsConfigEntry


def device_info(entry: GizwitsConfigEntry) -> DeviceInfo:
    """What the device page shows.

    Name: the entry's title; model: the product's name once a definition is loaded; model ID:
    the product key; serial number: the DID (a maker binds apps with it); the firmware
    versions and the MAC.
    """
    data = entry.data
    return DeviceInfo(
        identifiers={(DOMAIN, str(entry.unique_id))},
        connections={(CONNECTION_NETWORK_MAC, format_mac(data[CONF_MAC]))},
        manufacturer="Gizwits",
        model=product_name(entry.options),
        model_id=data[CONF_PRODUCT_KEY],
        serial_number=data[CONF_DID],
        name=entry.title,
        sw_version=f"WiFi {data[CONF_WIFI_SOFT_VERSION]} / MCU {data[CONF_MCU_SOFT_VERSION]}",
        hw_version=f"WiFi {data[CONF_WIFI_HARD_VERSION]} / MCU {data[CONF_MCU_HARD_VERSION]}",
    )


@callback
def async_register_device(hass: HomeAssistant, entry: GizwitsConfigEntry) -> str:
    """Create or update the entry's device before anything happens on it; its id."""
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, **device_info(entry)
    )
    return device.id


@callback
def async_follow_firmware(
    hass: HomeAssistant, entry: GizwitsConfigEntry, device: Device
) -> Callable[[], None]:
    """A confirmed firmware changes the entry's soft versions and what the device page shows
    (without a reload); returns the function that stops following."""

    installed = device.state.firmware.installed

    @callback
    def on_state(state: DeviceState) -> None:
        nonlocal installed
        # Every state change comes here (data-point values too): look only at a new version.
        if state.firmware.installed is installed:
            return
        installed = state.firmware.installed
        versions = {
            key: state.firmware.installed[firmware_type]
            for firmware_type, key in SOFT_VERSION_KEYS.items()
        }
        if any(entry.data.get(key) != version for key, version in versions.items()):
            hass.config_entries.async_update_entry(entry, data={**entry.data, **versions})
            async_register_device(hass, entry)

    return device.add_listener(on_state)
