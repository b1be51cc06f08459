"""A Gizwits device as one object: session, commands, data points, firmware, LAN membership.

    device = Device(session, gservice, identity, http=..., firmware_dir=..., product=model)
    device.add_listener(print)          # every new DeviceState (immutable)
    device.add_command_listener(print)  # every app command (0x0090 / 0x0093)
    await device.start()
    await device.run()                  # stays online until cancelled

docs/library.md has a complete script.
"""

from ..gservice_wire import FirmwareUpdate, TargetFirmware
from .datapoints import ControlApplier, ControlRejected, DataPoints, P0Stats, ReportPacing
from .device import Device, LanSender, StateListener
from .firmware import FirmwareUpdater
from .state import (
    DeviceIdentity,
    DeviceLogRecord,
    DeviceState,
    FirmwareDownload,
    FirmwareOffer,
    FirmwareState,
    LanState,
    apps_came_online,
)
from .store import DeviceStore, MemoryStore
from .values import PointValueError, check_value, default_value, from_json_value, to_json_value

__all__ = [
    "ControlApplier",
    "ControlRejected",
    "DataPoints",
    "Device",
    "DeviceIdentity",
    "DeviceLogRecord",
    "DeviceState",
    "DeviceStore",
    "FirmwareDownload",
    "FirmwareOffer",
    "FirmwareState",
    "FirmwareUpdate",
    "FirmwareUpdater",
    "LanSender",
    "LanState",
    "MemoryStore",
    "P0Stats",
    "PointValueError",
    "ReportPacing",
    "StateListener",
    "TargetFirmware",
    "apps_came_online",
    "check_value",
    "default_value",
    "from_json_value",
    "to_json_value",
]
