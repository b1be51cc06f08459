"""Firmware updates of one entry: the OTA v4.1 / v4.0 checks, download and confirmation.

The coordinator owns one FirmwareUpdater and tells it when to check (after each login, on a
0x0210) and what the cloud pushed (0x0211); the updater changes the shared FirmwareState and
calls back so the coordinator pushes the new state to the entities.

Installing only downloads: Home Assistant cannot flash the user's hardware. The firmware then
waits to be flashed, and the installed version changes only when the user (or the flashing
automation) confirms it; that is when GService hears of it (the v4.1 call reports the version,
a v4.0 target's fid is recorded, §7).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .const import (
    CONF_DID,
    CONF_PASSCODE,
    CONF_PRODUCT_KEY,
    DOMAIN,
    FIRMWARE_DIR,
    FIRMWARE_MAX_SIZE,
    HARD_VERSION_KEYS,
    LOGGER,
    SOFT_VERSION_KEYS,
)
from .protocol import (
    FirmwareType,
    GizwitsError,
    GizwitsValueError,
    GServiceClient,
    GServiceError,
    download_firmware,
    normalize_version,
)

if TYPE_CHECKING:
    from .runtime import GizwitsConfigEntry


class _OtaQuery(TypedDict):
    """What both OTA checks (v4.1 and v4.0) tell GService about the installed firmware."""

    did: str
    firmware_type: FirmwareType
    hard_version: str
    soft_version: str


@dataclass(frozen=True, slots=True)
class FirmwareOffer:
    """A firmware the cloud offers: from OTA v4.1 (a soft version) or v4.0 (a target fid)."""

    firmware_type: FirmwareType
    version: str
    url: str
    target_fid: int | None = None


@dataclass(frozen=True, slots=True)
class FirmwareDownload:
    """A firmware stored under the HA config dir, ready for the user's flashing automation."""

    firmware_type: FirmwareType
    version: str
    path: Path
    size: int
    md5: str
    verified: bool  # False when the cloud sent no Firmware-MD5 to check against
    target_fid: int | None = None  # the v4.0 target it came from
    url: str = ""  # where it came from ("" when stored by a version that did not keep it)

    def as_event_data(self) -> dict[str, Any]:
        """What the firmware event entity and the device trigger's bus event carry."""
        return {
            "firmware_type": self.firmware_type.name.lower(),
            "version": self.version,
            "path": str(self.path),
            "size": self.size,
            "md5": self.md5,
            "verified": self.verified,
        }

    def as_stored(self) -> dict[str, Any]:
        """The download as kept in the entry's Store while it waits to be flashed."""
        return {**self.as_event_data(), "target_fid": self.target_fid, "url": self.url}

    @classmethod
    def from_stored(cls, firmware_type: FirmwareType, raw: Any) -> FirmwareDownload | None:
        """A stored download (None when the record is unusable)."""
        try:
            fid = raw.get("target_fid")
            return cls(
                firmware_type,
                str(raw["version"]),
                Path(str(raw["path"])),
                int(raw["size"]),
                str(raw["md5"]),
                bool(raw["verified"]),
                None if fid is None else int(fid),
                str(raw.get("url") or ""),
            )
        except AttributeError, KeyError, TypeError, ValueError:
            return None

    def is_copy_of(self, offer: FirmwareOffer) -> bool:
        """This download is of ``offer``: same version, v4.0 target and URL."""
        return (self.version, self.target_fid, self.url) == (
            offer.version,
            offer.target_fid,
            offer.url,
        )

    def is_intact(self) -> bool:
        """The file is still there, as downloaded (size and MD5); blocking, in an executor."""
        try:
            with self.path.open("rb") as file:
                digest = hashlib.file_digest(file, lambda: hashlib.md5(usedforsecurity=False))
        except OSError:
            return False
        return self.path.stat().st_size == self.size and digest.hexdigest() == self.md5


@dataclass(slots=True)
class FirmwareState:
    """What the update and firmware event entities show."""

    offers: dict[FirmwareType, FirmwareOffer] = field(default_factory=dict)
    current_fid: dict[FirmwareType, int] = field(default_factory=dict)
    last_download: FirmwareDownload | None = None
    # Downloaded, waiting to be flashed and confirmed (kept across restarts).
    pending: dict[FirmwareType, FirmwareDownload] = field(default_factory=dict)


def _already_installed(offered_version: str | None, installed: str) -> bool:
    """A v4.0 target whose version is not newer than what runs (versions are 8 chars, §7)."""
    if offered_version is None:
        return False
    try:
        offered = normalize_version(offered_version)
    except GizwitsValueError:
        return False
    return offered.upper() <= normalize_version(installed).upper()


class FirmwareUpdater:
    """Checks for and downloads the WiFi and MCU firmware of one config entry."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: GizwitsConfigEntry,
        gservice: GServiceClient,
        state: FirmwareState,
        *,
        changed: Callable[[], None],
        save: Callable[[], None],
        downloaded: Callable[[FirmwareDownload], None],
        installed: Callable[[], None],
    ) -> None:
        self._hass = hass
        self._entry = entry
        self._gservice = gservice
        self.state = state
        self._changed = changed
        self._save = save
        self._downloaded = downloaded
        self._installed = installed
        self._task: asyncio.Task[None] | None = None

    def installed_version(self, firmware_type: FirmwareType) -> str:
        """The configured soft version of this firmware."""
        return str(self._entry.data[SOFT_VERSION_KEYS[firmware_type]])

    @callback
    def async_stop(self) -> None:
        """Cancel a running check."""
        if self._task is not None:
            self._task.cancel()

    @callback
    def offer_target_fid(self, firmware_type: FirmwareType, fid: int, url: str) -> None:
        """A v4.0 target (0x0211 or the check); the fid already running is no offer."""
        if fid == self.state.current_fid.get(firmware_type):
            self.state.offers.pop(firmware_type, None)
            return
        self.state.offers[firmware_type] = FirmwareOffer(firmware_type, f"fid {fid}", url, fid)

    @callback
    def schedule_check(self, firmware_types: tuple[FirmwareType, ...]) -> None:
        """Check in the background; a newer request replaces a running check."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = self._entry.async_create_background_task(
            self._hass, self.async_check(firmware_types), f"{DOMAIN} OTA check"
        )

    async def async_check(self, firmware_types: tuple[FirmwareType, ...]) -> None:
        """Run the v4.1 and v4.0 OTA checks; a failure keeps what was known (§2.4)."""
        data = self._entry.data
        for firmware_type in firmware_types:
            soft = self.installed_version(firmware_type)
            query = _OtaQuery(
                did=data[CONF_DID],
                firmware_type=firmware_type,
                hard_version=str(data[HARD_VERSION_KEYS[firmware_type]]),
                soft_version=soft,
            )
            try:
                update = await self._gservice.ota_update_and_check(
                    passcode=data[CONF_PASSCODE], **query
                )
                if update is not None:
                    self.state.offers[firmware_type] = FirmwareOffer(
                        firmware_type, update.soft_version, update.download_url
                    )
                    continue
                target = await self._gservice.ota_target_fid(
                    product_key=data[CONF_PRODUCT_KEY],
                    current_fid=self.state.current_fid.get(firmware_type, 0),
                    **query,
                )
            except GizwitsError as err:  # GService errors and invalid stored versions
                LOGGER.debug("OTA check for %s firmware failed: %s", firmware_type.name, err)
                continue
            if target is None:
                self.state.offers.pop(firmware_type, None)
            elif _already_installed(target.firmware_version, soft):
                # E.g. installed through v4.1, which names no fid: remember the fid now.
                self.state.offers.pop(firmware_type, None)
                self.state.current_fid[firmware_type] = target.target_fid
                self._save()
            else:
                self.offer_target_fid(firmware_type, target.target_fid, target.download_url)
        self._changed()

    async def async_install(
        self, firmware_type: FirmwareType, progress: Callable[[int, int | None], None]
    ) -> FirmwareDownload:
        """Download the offered firmware (size-capped, MD5-checked), record it, announce it."""
        offer = self.state.offers.get(firmware_type)
        if offer is None:
            raise LookupError("no firmware update is offered")
        pending = self.state.pending.get(firmware_type)
        if (
            pending is not None
            and pending.is_copy_of(offer)
            and await self._hass.async_add_executor_job(pending.is_intact)
        ):
            # Installing again: the flashing automation already has this file (and ran once).
            LOGGER.info(
                "%s firmware %s is already downloaded to %s; it waits to be flashed",
                firmware_type.name,
                offer.version,
                pending.path,
            )
            return pending
        name = f"{firmware_type.name.lower()}-{offer.version.replace(' ', '_')}.bin"
        dest = Path(self._hass.config.path(FIRMWARE_DIR, self._entry.entry_id, name))
        await self._hass.async_add_executor_job(
            lambda: dest.parent.mkdir(parents=True, exist_ok=True)
        )
        downloaded = await download_firmware(
            async_get_clientsession(self._hass),
            offer.url,
            dest,
            max_size=FIRMWARE_MAX_SIZE,
            expected_md5=None,
            progress=progress,
        )
        result = FirmwareDownload(
            firmware_type,
            offer.version,
            downloaded.path,
            downloaded.size,
            downloaded.md5,
            downloaded.verified,
            offer.target_fid,
            offer.url,
        )
        # Not installed yet: the offer stays until the flashing is confirmed.
        self.state.pending[firmware_type] = result
        self.state.last_download = result
        self._save()
        self._changed()
        self._downloaded(result)
        return result

    async def async_confirm(self, firmware_type: FirmwareType, version: str | None) -> str:
        """The user's hardware runs this firmware now: record it and tell GService.

        ``version`` defaults to the downloaded firmware's; a v4.0 download ("fid N") records its
        fid. Raises LookupError with nothing downloaded and no version, GizwitsValueError for a
        version that is not one (1-8 of 0-9 A-Z a-z . _ -).
        """
        pending = self.state.pending.get(firmware_type)
        if version is None:
            if pending is None:
                raise LookupError("no firmware is waiting to be flashed")
            version = pending.version
        fid = None if pending is None else pending.target_fid
        # A v4.0 target has no version string ("fid N"): only a version the user gives is one.
        if fid is None or version != f"fid {fid}":
            version = normalize_version(version)
            new_data = {**self._entry.data, SOFT_VERSION_KEYS[firmware_type]: version}
            self._hass.config_entries.async_update_entry(self._entry, data=new_data)
            await self._report_version(firmware_type, version)
        if fid is not None:
            self.state.current_fid[firmware_type] = fid
        offer = self.state.offers.get(firmware_type)
        if offer is not None and (
            offer.version == version or (fid is not None and offer.target_fid == fid)
        ):
            del self.state.offers[firmware_type]
        self.state.pending.pop(firmware_type, None)
        self._save()
        self._changed()
        self._installed()
        return self.installed_version(firmware_type)

    async def _report_version(self, firmware_type: FirmwareType, version: str) -> None:
        """Tell GService the version now installed (the v4.1 call reports it, §7)."""
        data = self._entry.data
        try:
            await self._gservice.ota_update_and_check(
                did=data[CONF_DID],
                passcode=data[CONF_PASSCODE],
                firmware_type=firmware_type,
                hard_version=str(data[HARD_VERSION_KEYS[firmware_type]]),
                soft_version=version,
            )
        except GServiceError as err:
            LOGGER.warning("Could not report the new firmware version to Gizwits: %s", err)
