"""The one HA device of a config entry: what the device page shows, and its registry id."""

from __future__ import annotations

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
)
from .naming import product_name

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
