"""Diagnostics: configuration and session counters, with the secrets redacted."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_DID, CONF_MAC, CONF_PASSCODE, CONF_PRODUCT_SECRET
from .runtime import GizwitsConfigEntry

# The DID, passcode and Product Secret are the device's credentials; the MAC identifies the
# user's device.
TO_REDACT = {CONF_DID, CONF_PASSCODE, CONF_PRODUCT_SECRET, CONF_MAC, "mac", "connections"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: GizwitsConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for a config entry."""
    runtime = entry.runtime_data
    coordinator = runtime.coordinator
    data = coordinator.data
    forwarder = runtime.log_forwarder
    bridge = runtime.bridge
    return {
        "entry": {
            "title": entry.title,
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": dict(entry.options),
        },
        "connection": coordinator.diagnostics_status(),
        "online_apps": data.online_apps,
        "log_level": data.log_level,
        "firmware_offers": {
            firmware_type.name.lower(): {
                "version": offer.version,
                "target_fid": offer.target_fid,
            }
            for firmware_type, offer in data.firmware.offers.items()
        },
        "current_fid": {t.name.lower(): fid for t, fid in data.firmware.current_fid.items()},
        "bridge": None if bridge is None else asdict(bridge.stats),
        "log_forwarding": {
            "loggers": forwarder.logger_names,
            "forwarded": forwarder.forwarded,
            "dropped": forwarder.dropped,
        },
        "local_network": _local_network(entry),
    }


def _local_network(entry: GizwitsConfigEntry) -> dict[str, Any] | None:
    """Whether LAN apps can reach this device and, when not, why; the shared service's state."""
    lan = entry.runtime_data.lan
    state = entry.runtime_data.coordinator.data.lan
    if lan is None or state is None:
        return None
    return {
        "served": lan.served,
        "listening": state.listening,
        "error": state.error,
        "binding": state.binding,
        "local_apps": len(state.clients),
        "service": lan.service.diagnostics(),
    }
