"""Diagnostics: configuration and session counters, with the secrets redacted."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_DID, CONF_MAC, CONF_PASSCODE, CONF_PRODUCT_SECRET
from .protocol.device import Device, TargetFirmware
from .runtime import GizwitsConfigEntry

# The DID, passcode and Product Secret are the device's credentials; the MAC identifies the
# user's device.
TO_REDACT = {CONF_DID, CONF_PASSCODE, CONF_PRODUCT_SECRET, CONF_MAC, "mac", "connections"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: GizwitsConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for a config entry."""
    runtime = entry.runtime_data
    device = runtime.device
    state = device.state
    forwarder = runtime.log_forwarder
    return {
        "entry": {
            "title": entry.title,
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": dict(entry.options),
        },
        "connection": _connection(device),
        "online_apps": state.online_apps,
        "log_level": state.log_level,
        "firmware_offers": {
            firmware_type.name.lower(): {
                "version": offer.version,
                "target_fid": offer.target_fid if isinstance(offer, TargetFirmware) else None,
            }
            for firmware_type, offer in state.firmware.offers.items()
        },
        "current_fid": {t.name.lower(): fid for t, fid in state.firmware.current_fid.items()},
        "bridge": None
        if runtime.bridge is None or device.points is None
        else asdict(device.points.stats),
        "log_forwarding": {
            "loggers": forwarder.logger_names,
            "forwarded": forwarder.forwarded,
            "dropped": forwarder.dropped,
        },
        "local_network": _local_network(entry),
    }


def _connection(device: Device) -> dict[str, Any]:
    """Connection status and counters."""
    status = device.state.status
    return {
        "state": status.state,
        "failures": status.failures,
        "retry_in": status.retry_in,
        "last_error": status.last_error,
        "endpoint": None
        if status.endpoint is None
        else {"host": status.endpoint.host, "port": status.endpoint.port},
        "stats": device.session.stats.as_dict(),
    }


def _local_network(entry: GizwitsConfigEntry) -> dict[str, Any] | None:
    """Whether LAN apps can reach this device and, when not, why; the shared service's state."""
    lan = entry.runtime_data.lan
    state = entry.runtime_data.device.state.lan
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
