"""A device's firmware: the OTA v4.1 / v4.0 checks, the download and the confirmation (§7).

Installing only downloads: the device library cannot flash anyone's hardware. The file then
waits to be flashed, and the installed version changes only when the owner confirms it; that
is when GService hears of it (the v4.1 call reports the version, a v4.0 target's fid is kept).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
import logging
from pathlib import Path

import aiohttp

from ..errors import GizwitsError, GizwitsValueError
from ..firmware import ProgressCallback, download_firmware
from ..frame_fields import FirmwareType
from ..gservice import GServiceClient
from ..gservice_wire import FirmwareUpdate, GServiceError, TargetFirmware, normalize_version
from .state import DeviceIdentity, FirmwareDownload, FirmwareState

_LOGGER = logging.getLogger(__name__)

DEFAULT_MAX_SIZE = 16 * 1024 * 1024


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
    """Checks for, downloads and confirms the WiFi and MCU firmware of one device.

    It reads and replaces the device's FirmwareState through `state` / `put`; the device
    notifies its listeners and saves what must persist.
    """

    def __init__(
        self,
        gservice: GServiceClient,
        identity: DeviceIdentity,
        http: aiohttp.ClientSession,
        directory: Path | Callable[[], Path],
        *,
        state: Callable[[], FirmwareState],
        put: Callable[[FirmwareState], None],
        max_size: int = DEFAULT_MAX_SIZE,
    ) -> None:
        self._gservice = gservice
        self._identity = identity
        self._http = http
        self.directory = directory
        self._state = state
        self._put = put
        self.max_size = max_size
        self._task: asyncio.Task[None] | None = None

    def installed_version(self, firmware_type: FirmwareType) -> str:
        """The soft version the device runs."""
        return self._state().installed[firmware_type]

    def stop(self) -> None:
        """Cancel a running check."""
        if self._task is not None:
            self._task.cancel()

    def offer_target_fid(self, firmware_type: FirmwareType, fid: int, url: str) -> None:
        """A v4.0 target (0x0211 or the check); the fid already running is no offer."""
        state = self._state()
        offers = dict(state.offers)
        if fid == state.current_fid.get(firmware_type):
            offers.pop(firmware_type, None)
        else:
            offers[firmware_type] = TargetFirmware(fid, url)
        self._put(replace(state, offers=offers))

    def schedule_check(self, firmware_types: tuple[FirmwareType, ...]) -> None:
        """Check in the background; a newer request replaces a running check."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = asyncio.create_task(self.check(firmware_types))

    async def check(self, firmware_types: tuple[FirmwareType, ...]) -> None:
        """Run the v4.1 and v4.0 OTA checks; a failure keeps what was known (§2.4)."""
        for firmware_type in firmware_types:
            soft = self.installed_version(firmware_type)
            try:
                update = await self._update_and_check(firmware_type, soft)
                target = None
                if update is None:
                    target = await self._gservice.ota_target_fid(
                        did=self._identity.did,
                        product_key=self._identity.product_key,
                        firmware_type=firmware_type,
                        hard_version=self._identity.hard_versions[firmware_type],
                        soft_version=soft,
                        current_fid=self._state().current_fid.get(firmware_type, 0),
                    )
            except GizwitsError as err:  # GService errors and invalid stored versions
                _LOGGER.debug("OTA check for %s firmware failed: %s", firmware_type.name, err)
                continue
            state = self._state()
            offers = dict(state.offers)
            if update is not None:
                offers[firmware_type] = update
            elif target is None:
                offers.pop(firmware_type, None)
            elif _already_installed(target.firmware_version, soft):
                # E.g. installed through v4.1, which names no fid: remember the fid now.
                offers.pop(firmware_type, None)
                fids = {**state.current_fid, firmware_type: target.target_fid}
                state = replace(state, current_fid=fids)
            elif target.target_fid == state.current_fid.get(firmware_type):
                offers.pop(firmware_type, None)
            else:
                offers[firmware_type] = TargetFirmware(target.target_fid, target.download_url)
            self._put(replace(state, offers=offers))

    async def install(
        self, firmware_type: FirmwareType, progress: ProgressCallback | None = None
    ) -> FirmwareDownload:
        """Download the offered firmware (size-capped, MD5-checked) and keep it as pending.

        Raises LookupError when nothing is offered, FirmwareError when the download fails.
        """
        state = self._state()
        offer = state.offers.get(firmware_type)
        if offer is None:
            raise LookupError("no firmware update is offered")
        pending = state.pending.get(firmware_type)
        loop = asyncio.get_running_loop()
        if (
            pending is not None
            and pending.is_copy_of(offer)
            and await loop.run_in_executor(None, pending.is_intact)
        ):
            # Installing again: whoever flashes already has this file (and was told once).
            _LOGGER.info(
                "%s firmware %s is already downloaded to %s; it waits to be flashed",
                firmware_type.name,
                offer.version,
                pending.path,
            )
            return pending
        name = f"{firmware_type.name.lower()}-{offer.version.replace(' ', '_')}.bin"
        directory = self.directory if isinstance(self.directory, Path) else self.directory()
        dest = directory / name
        await loop.run_in_executor(None, lambda: dest.parent.mkdir(parents=True, exist_ok=True))
        file = await download_firmware(
            self._http,
            offer.download_url,
            dest,
            max_size=self.max_size,
            expected_md5=None,
            progress=progress,
        )
        fid = offer.target_fid if isinstance(offer, TargetFirmware) else None
        result = FirmwareDownload(firmware_type, offer.version, file, fid, offer.download_url)
        # Not installed yet: the offer stays until the flashing is confirmed.
        state = self._state()
        self._put(
            replace(state, pending={**state.pending, firmware_type: result}, last_download=result)
        )
        return result

    async def confirm(self, firmware_type: FirmwareType, version: str | None) -> str:
        """The hardware runs this firmware now: record it and tell GService.

        ``version`` defaults to the downloaded firmware's; a v4.0 download ("fid N") records its
        fid. Raises LookupError with nothing downloaded and no version, GizwitsValueError for a
        version that is not one (1-8 of 0-9 A-Z a-z . _ -).
        """
        state = self._state()
        pending = state.pending.get(firmware_type)
        if version is None:
            if pending is None:
                raise LookupError("no firmware is waiting to be flashed")
            version = pending.version
        fid = None if pending is None else pending.target_fid
        confirmed: dict[FirmwareType, str] = {}
        # A v4.0 target has no version string ("fid N"): only a version the owner gives is one.
        if fid is None or version != f"fid {fid}":
            version = normalize_version(version)
            confirmed[firmware_type] = version
            await self._report_version(firmware_type, version)
        state = self._state()
        fids = dict(state.current_fid)
        if fid is not None:
            fids[firmware_type] = fid
        offers = dict(state.offers)
        offer = offers.get(firmware_type)
        if offer is not None and (
            offer.version == version
            or (fid is not None and isinstance(offer, TargetFirmware) and offer.target_fid == fid)
        ):
            del offers[firmware_type]
        pending_left = {k: v for k, v in state.pending.items() if k is not firmware_type}
        self._put(
            replace(
                state,
                installed={**state.installed, **confirmed},
                current_fid=fids,
                offers=offers,
                pending=pending_left,
            )
        )
        return self.installed_version(firmware_type)

    async def _update_and_check(
        self, firmware_type: FirmwareType, soft_version: str
    ) -> FirmwareUpdate | None:
        """The v4.1 call: it reports `soft_version` as installed and answers with an offer."""
        identity = self._identity
        return await self._gservice.ota_update_and_check(
            did=identity.did,
            passcode=identity.passcode,
            firmware_type=firmware_type,
            hard_version=identity.hard_versions[firmware_type],
            soft_version=soft_version,
        )

    async def _report_version(self, firmware_type: FirmwareType, version: str) -> None:
        """Tell GService the version now installed (the v4.1 call reports it, §7)."""
        try:
            await self._update_and_check(firmware_type, version)
        except GServiceError as err:
            _LOGGER.warning("Could not report the new firmware version to Gizwits: %s", err)
