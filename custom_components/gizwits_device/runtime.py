"""What a loaded config entry holds: `entry.runtime_data` of a GizwitsConfigEntry."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry

from .bridge import GizwitsBridge
from .coordinator import GizwitsDeviceCoordinator
from .lan_entry import GizwitsLanDevice
from .log_forwarder import LogForwarder


@dataclass(kw_only=True, slots=True)
class GizwitsRuntimeData:
    """The parts of one device endpoint; each depends on the coordinator, never the reverse."""

    coordinator: GizwitsDeviceCoordinator
    log_forwarder: LogForwarder
    # None without a (valid) product definition in the options.
    bridge: GizwitsBridge | None
    # None while the options turn off answering apps on the local network.
    lan: GizwitsLanDevice | None = None
    # The LAN options set up (lan_entry.lan_options): a change reloads the entry.
    lan_options: tuple[bool, tuple[str, ...], bool] = (False, (), True)


type GizwitsConfigEntry = ConfigEntry[GizwitsRuntimeData]
