"""What a loaded config entry holds: `entry.runtime_data` of a GizwitsConfigEntry."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry

from .bridge import GizwitsBridge
from .coordinator import GizwitsDeviceCoordinator
from .log_forwarder import LogForwarder


@dataclass(kw_only=True, slots=True)
class GizwitsRuntimeData:
    """The parts of one device endpoint; each depends on the coordinator, never the reverse."""

    coordinator: GizwitsDeviceCoordinator
    log_forwarder: LogForwarder
    # None without a (valid) product definition in the options.
    bridge: GizwitsBridge | None


type GizwitsConfigEntry = ConfigEntry[GizwitsRuntimeData]
