"""What a loaded config entry holds: `entry.runtime_data` of a GizwitsConfigEntry."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from homeassistant.config_entries import ConfigEntry

from .bridge import GizwitsBridge
from .coordinator import GizwitsDeviceCoordinator
from .lan_entry import GizwitsLanDevice, LanOptions
from .log_forwarder import LogForwarder
from .protocol.device import Device


@dataclass(kw_only=True, slots=True)
class GizwitsRuntimeData:
    """The library device and the Home Assistant parts around it (each uses the device)."""

    device: Device
    # The device registry id of the entry's device (bus events and links name it).
    device_id: str
    coordinator: GizwitsDeviceCoordinator
    log_forwarder: LogForwarder
    # None without a (valid) product definition in the options.
    bridge: GizwitsBridge | None
    # None while the options turn off answering apps on the local network.
    lan: GizwitsLanDevice | None = None
    # The LAN options applied (lan_entry.lan_options): a change re-joins the LAN service.
    lan_options: LanOptions = (False, (), True)
    # Options saved in quick succession leave and join the LAN service one after the other.
    lan_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


type GizwitsConfigEntry = ConfigEntry[GizwitsRuntimeData]
