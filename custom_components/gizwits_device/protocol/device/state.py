"""What a device is at one moment: immutable snapshots its listeners receive.

Every change makes a new `DeviceState` (`dataclasses.replace`); the mappings in it are never
changed after the snapshot is made, so a listener may keep one and compare it with the next.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
import hashlib
from pathlib import Path
from typing import Any

from ..firmware import DownloadedFirmware
from ..frame_fields import FirmwareType, LogLevel
from ..gservice_wire import FirmwareUpdate, TargetFirmware
from ..p0_messages import Value
from ..session_state import ConnectionState, ConnectionStatus

# What the cloud offers: a newer soft version (OTA v4.1) or a target fid (v4.0, §7).
type FirmwareOffer = FirmwareUpdate | TargetFirmware


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """Who the device is towards GService and M2M, and the firmware it was set up with."""

    did: str
    passcode: str
    product_key: str
    hard_versions: Mapping[FirmwareType, str]
    soft_versions: Mapping[FirmwareType, str]


@dataclass(frozen=True, slots=True, eq=False)
class FirmwareDownload:
    """A downloaded firmware file waiting to be flashed by whoever runs the hardware.

    Compared by identity: each download is one (a second download of the same bytes is a new
    one, announced again).
    """

    firmware_type: FirmwareType
    version: str
    file: DownloadedFirmware
    target_fid: int | None = None  # the v4.0 target it came from
    url: str = ""  # where it came from ("" when stored by a version that did not keep it)

    @property
    def path(self) -> Path:
        """Where the file is."""
        return self.file.path

    @property
    def md5(self) -> str:
        """The file's MD5 (lower-case hex)."""
        return self.file.md5

    @property
    def verified(self) -> bool:
        """False when the cloud sent no Firmware-MD5 to check against."""
        return self.file.verified

    def as_event_data(self) -> dict[str, Any]:
        """What a "firmware downloaded" event carries."""
        return {
            "firmware_type": self.firmware_type.name.lower(),
            "version": self.version,
            "path": str(self.file.path),
            "size": self.file.size,
            "md5": self.file.md5,
            "verified": self.file.verified,
        }

    def as_stored(self) -> dict[str, Any]:
        """The record kept in the device's store while it waits to be flashed."""
        return {**self.as_event_data(), "target_fid": self.target_fid, "url": self.url}

    @classmethod
    def from_stored(cls, firmware_type: FirmwareType, raw: Any) -> FirmwareDownload | None:
        """A stored record (None when it is unusable)."""
        try:
            fid = raw.get("target_fid")
            file = DownloadedFirmware(
                Path(str(raw["path"])), int(raw["size"]), str(raw["md5"]), bool(raw["verified"])
            )
            return cls(
                firmware_type,
                str(raw["version"]),
                file,
                None if fid is None else int(fid),
                str(raw.get("url") or ""),
            )
        except AttributeError, KeyError, TypeError, ValueError:
            return None

    def is_copy_of(self, offer: FirmwareOffer) -> bool:
        """This download is of ``offer``: same version, v4.0 target and URL."""
        fid = offer.target_fid if isinstance(offer, TargetFirmware) else None
        return (self.version, self.target_fid, self.url) == (
            offer.version,
            fid,
            offer.download_url,
        )

    def is_intact(self) -> bool:
        """The file is still there, as downloaded (size and MD5); blocking, in an executor."""
        path = self.file.path
        try:
            with path.open("rb") as file:
                digest = hashlib.file_digest(file, lambda: hashlib.md5(usedforsecurity=False))
        except OSError:
            return False
        return path.stat().st_size == self.file.size and digest.hexdigest() == self.file.md5


@dataclass(frozen=True, slots=True)
class FirmwareState:
    """Installed versions, what the cloud offers, and downloads waiting to be flashed."""

    installed: Mapping[FirmwareType, str] = field(default_factory=dict)
    offers: Mapping[FirmwareType, FirmwareOffer] = field(default_factory=dict)
    # The fid last installed through OTA v4.0 (persisted).
    current_fid: Mapping[FirmwareType, int] = field(default_factory=dict)
    # Downloaded, not flashed yet (persisted).
    pending: Mapping[FirmwareType, FirmwareDownload] = field(default_factory=dict)
    # A new object for every download, so a listener can tell a new one from the last.
    last_download: FirmwareDownload | None = None


@dataclass(frozen=True, slots=True)
class DeviceLogRecord:
    """The last 0x0012 the device sent."""

    level: LogLevel
    tag: str
    source: str
    content: str
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class LanState:
    """The device on the local network (None in the device state while it is not a member)."""

    listening: bool = False
    # Why apps on the LAN cannot reach the device (None while listening).
    error: str | None = None
    clients: tuple[str, ...] = ()
    binding: bool = False


@dataclass(frozen=True, slots=True)
class DeviceState:
    """Everything the device shows."""

    status: ConnectionStatus
    online_apps: int | None = None
    # A 0x0210 arrived since the last login (the first count after one is no "came online").
    apps_counted: bool = False
    log_level: int = 0
    last_log: DeviceLogRecord | None = None
    firmware: FirmwareState = field(default_factory=FirmwareState)
    lan: LanState | None = None
    # The product's data-point values (empty without a product).
    values: Mapping[str, Value] = field(default_factory=dict)

    @property
    def connected(self) -> bool:
        """True while the M2M session is logged in."""
        return self.status.state is ConnectionState.CONNECTED

    @property
    def apps_online(self) -> bool:
        """Whether a cloud app (while logged in) or a LAN app is online."""
        return bool(self.online_apps and self.connected) or bool(self.lan and self.lan.clients)


def apps_came_online(previous: DeviceState, current: DeviceState) -> bool:
    """The online app count rose from 0 within one login (not the first count after it)."""
    return (
        previous.apps_counted
        and current.apps_counted
        and previous.online_apps == 0
        and bool(current.online_apps)
    )
