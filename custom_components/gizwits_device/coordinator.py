"""Runtime state of one Gizwits device endpoint, fed by the M2M session (push, no polling)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
import time
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util
from homeassistant.util.ssl import get_default_context

from .const import (
    CONF_DID,
    CONF_MCU_HARD_VERSION,
    CONF_MCU_SOFT_VERSION,
    CONF_PASSCODE,
    CONF_PRODUCT_KEY,
    CONF_WIFI_HARD_VERSION,
    CONF_WIFI_SOFT_VERSION,
    DOMAIN,
    FIRMWARE_DIR,
    FIRMWARE_MAX_SIZE,
    LOGGER,
    STORAGE_VERSION,
    UNREACHABLE_REPAIR_AFTER,
)
from .protocol import (
    ConnectionState,
    ConnectionStatus,
    DeviceLog,
    FirmwareType,
    GServiceClient,
    GServiceError,
    LogLevel,
    M2MAuthenticationError,
    M2MSession,
    OnlineAppCount,
    OtaCheckNotification,
    OtaNotification,
    ReceivedFrame,
    SessionTiming,
    SetLogLevel,
    download_firmware,
    normalize_version,
)

if TYPE_CHECKING:
    from .bridge import GizwitsBridge
    from .log_forwarder import LogForwarder

type GizwitsConfigEntry = ConfigEntry[GizwitsDeviceCoordinator]

SOFT_VERSION_KEYS = {
    FirmwareType.WIFI: CONF_WIFI_SOFT_VERSION,
    FirmwareType.MCU: CONF_MCU_SOFT_VERSION,
}
HARD_VERSION_KEYS = {
    FirmwareType.WIFI: CONF_WIFI_HARD_VERSION,
    FirmwareType.MCU: CONF_MCU_HARD_VERSION,
}


@dataclass(frozen=True, slots=True)
class DeviceLogRecord:
    """The last 0x0012 this endpoint sent."""

    level: LogLevel
    tag: str
    source: str
    content: str
    sent_at: datetime


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


@dataclass(slots=True)
class GizwitsDeviceData:
    """Everything the entities show."""

    status: ConnectionStatus
    online_apps: int | None = None
    log_level: int = 0
    last_log: DeviceLogRecord | None = None
    offers: dict[FirmwareType, FirmwareOffer] = field(default_factory=dict)
    current_fid: dict[FirmwareType, int] = field(default_factory=dict)


# Repair issues of an entry (translation keys); the id adds the entry id.
ISSUE_DID_REJECTED = "did_rejected"
ISSUE_UNREACHABLE = "unreachable"
ENTRY_ISSUES = (ISSUE_DID_REJECTED, ISSUE_UNREACHABLE)


def issue_id(issue: str, entry_id: str) -> str:
    """The repair issue id of `issue` for one config entry."""
    return f"{issue}_{entry_id}"


# The protocol's intervals and GService's request timeout; tests replace them.
SESSION_TIMING = SessionTiming()
GSERVICE_TIMEOUT = 10.0


def create_session(
    hass: HomeAssistant, base_url: str, did: str, passcode: str, product_key: str
) -> tuple[GServiceClient, M2MSession]:
    """The GService client and M2M session for one device, on HA's shared HTTP session."""
    gservice = GServiceClient(async_get_clientsession(hass), base_url, timeout=GSERVICE_TIMEOUT)
    session = M2MSession(
        gservice,
        did=did,
        passcode=passcode,
        product_key=product_key,
        timing=SESSION_TIMING,
        ssl_context=get_default_context(),
    )
    return gservice, session


def _already_installed(offered_version: str | None, installed: str) -> bool:
    """A v4.0 target whose version is not newer than what runs (versions are 8 chars, §7)."""
    if offered_version is None:
        return False
    try:
        offered = normalize_version(offered_version)
    except ValueError:
        return False
    return offered.upper() <= normalize_version(installed).upper()


class GizwitsDeviceCoordinator(DataUpdateCoordinator[GizwitsDeviceData]):
    """Owns the M2M session of one config entry and turns its frames into entity data."""

    config_entry: GizwitsConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: GizwitsConfigEntry,
        *,
        session: M2MSession,
        gservice: GServiceClient,
    ) -> None:
        super().__init__(hass, LOGGER, config_entry=entry, name=DOMAIN, always_update=True)
        self.session = session
        self.gservice = gservice
        self._http = async_get_clientsession(hass)
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}"
        )
        self._unsubscribe: list[Callable[[], None]] = []
        self._down_since: float | None = None
        self._ota_task: asyncio.Task[None] | None = None
        self.firmware_listeners: list[Callable[[FirmwareDownload], None]] = []
        self.log_forwarder: LogForwarder | None = None
        self.bridge: GizwitsBridge | None = None
        self.data = GizwitsDeviceData(status=session.status)

    # -- lifecycle -----------------------------------------------------------------------

    async def async_start(self) -> None:
        """Load persisted state, listen to the session and start it in the background."""
        stored = await self._store.async_load() or {}
        self.data.log_level = int(stored.get("log_level", 0)) & 0xFFFF
        self.data.current_fid = {
            FirmwareType(int(key)): int(fid)
            for key, fid in stored.get("current_fid", {}).items()
            if str(key) in ("1", "2")
        }
        self._unsubscribe = [
            self.session.add_frame_listener(self._on_frame),
            self.session.add_status_listener(self._on_status),
        ]
        self.config_entry.async_create_background_task(
            self.hass, self._async_run_session(), f"{DOMAIN} M2M session"
        )

    async def async_wait_connected(self) -> None:
        """Wait for the first login (use with a timeout); raises M2MAuthenticationError."""
        while not self.session.connected:
            if self.data.status.state is ConnectionState.AUTH_FAILED:
                raise M2MAuthenticationError(self.data.status.last_error or "refused")
            await asyncio.sleep(0.05)

    @callback
    def async_stop(self) -> None:
        """Stop listening (the session task itself is cancelled with the entry)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        if self._ota_task is not None:
            self._ota_task.cancel()

    async def _async_run_session(self) -> None:
        try:
            await self.session.run()
        except M2MAuthenticationError as err:
            LOGGER.warning("Gizwits refused this device's DID/passcode: %s", err)
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id(ISSUE_DID_REJECTED, self.config_entry.entry_id),
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key=ISSUE_DID_REJECTED,
                translation_placeholders={"title": self.config_entry.title},
            )
            # During set-up, ConfigEntryAuthFailed already starts the reauth flow.
            if self.config_entry.state is ConfigEntryState.LOADED:
                self.config_entry.async_start_reauth(self.hass)

    # -- session events ------------------------------------------------------------------

    @callback
    def _on_status(self, status: ConnectionStatus) -> None:
        previous = self.data.status.state
        self.data.status = status
        if status.state is ConnectionState.CONNECTED:
            self._down_since = None
            for issue in ENTRY_ISSUES:
                ir.async_delete_issue(
                    self.hass, DOMAIN, issue_id(issue, self.config_entry.entry_id)
                )
            if previous is not ConnectionState.CONNECTED:
                self._schedule_ota_check(tuple(FirmwareType))
        elif status.state in (ConnectionState.CONNECTING, ConnectionState.WAITING):
            now = time.monotonic()
            if self._down_since is None:
                self._down_since = now
            elif now - self._down_since >= UNREACHABLE_REPAIR_AFTER:
                ir.async_create_issue(
                    self.hass,
                    DOMAIN,
                    issue_id(ISSUE_UNREACHABLE, self.config_entry.entry_id),
                    is_fixable=False,
                    severity=ir.IssueSeverity.WARNING,
                    translation_key=ISSUE_UNREACHABLE,
                    translation_placeholders={
                        "title": self.config_entry.title,
                        "error": status.last_error or "",
                    },
                )
        self.async_set_updated_data(self.data)

    @callback
    def _on_frame(self, received: ReceivedFrame) -> None:
        frame = received.frame
        if isinstance(frame, OnlineAppCount):
            self.data.online_apps = frame.count
        elif isinstance(frame, SetLogLevel):
            self.data.log_level = frame.value
            self._save()
        elif isinstance(frame, OtaNotification):
            self._offer_target_fid(frame.firmware_type, frame.target_fid, frame.url)
        elif isinstance(frame, OtaCheckNotification):
            self._schedule_ota_check((frame.firmware_type,))
            return
        else:
            return
        self.async_set_updated_data(self.data)

    # -- persistence ---------------------------------------------------------------------

    @callback
    def _save(self) -> None:
        # Saved at once (not delayed) so nothing is pending when the entry unloads.
        self.config_entry.async_create_task(
            self.hass, self._store.async_save(self._stored_data()), "gizwits_device save"
        )

    @callback
    def _stored_data(self) -> dict[str, Any]:
        return {
            "log_level": self.data.log_level,
            "current_fid": {str(int(k)): v for k, v in self.data.current_fid.items()},
        }

    # -- logs ----------------------------------------------------------------------------

    async def async_send_log(self, level: LogLevel, tag: str, source: str, content: str) -> None:
        """Send a 0x0012 and remember it for the last-log sensor."""
        frame: DeviceLog = await self.session.send_log(level, tag, source, content)
        self.data.last_log = DeviceLogRecord(
            frame.level, frame.tag, frame.source, frame.content, dt_util.utcnow()
        )
        self.async_set_updated_data(self.data)

    # -- firmware ------------------------------------------------------------------------

    def installed_version(self, firmware_type: FirmwareType) -> str:
        """The configured soft version of this firmware."""
        return str(self.config_entry.data[SOFT_VERSION_KEYS[firmware_type]])

    @callback
    def _offer_target_fid(self, firmware_type: FirmwareType, fid: int, url: str) -> None:
        if fid == self.data.current_fid.get(firmware_type):
            self.data.offers.pop(firmware_type, None)
            return
        self.data.offers[firmware_type] = FirmwareOffer(firmware_type, f"fid {fid}", url, fid)

    @callback
    def _schedule_ota_check(self, firmware_types: tuple[FirmwareType, ...]) -> None:
        if self._ota_task is not None and not self._ota_task.done():
            self._ota_task.cancel()
        self._ota_task = self.config_entry.async_create_background_task(
            self.hass, self.async_check_firmware(firmware_types), f"{DOMAIN} OTA check"
        )

    async def async_check_firmware(self, firmware_types: tuple[FirmwareType, ...]) -> None:
        """Run the v4.1 and v4.0 OTA checks; a failure keeps what was known (§2.4)."""
        data = self.config_entry.data
        for firmware_type in firmware_types:
            hard = str(data[HARD_VERSION_KEYS[firmware_type]])
            soft = self.installed_version(firmware_type)
            try:
                update = await self.gservice.ota_update_and_check(
                    did=data[CONF_DID],
                    passcode=data[CONF_PASSCODE],
                    firmware_type=firmware_type,
                    hard_version=hard,
                    soft_version=soft,
                )
                if update is not None:
                    self.data.offers[firmware_type] = FirmwareOffer(
                        firmware_type, update.soft_version, update.download_url
                    )
                    continue
                target = await self.gservice.ota_target_fid(
                    did=data[CONF_DID],
                    product_key=data[CONF_PRODUCT_KEY],
                    firmware_type=firmware_type,
                    hard_version=hard,
                    soft_version=soft,
                    current_fid=self.data.current_fid.get(firmware_type, 0),
                )
            except (GServiceError, ValueError) as err:
                LOGGER.debug("OTA check for %s firmware failed: %s", firmware_type.name, err)
                continue
            if target is None:
                self.data.offers.pop(firmware_type, None)
            elif _already_installed(target.firmware_version, soft):
                # E.g. installed through v4.1, which names no fid: remember the fid now.
                self.data.offers.pop(firmware_type, None)
                self.data.current_fid[firmware_type] = target.target_fid
                self._save()
            else:
                self._offer_target_fid(firmware_type, target.target_fid, target.download_url)
        self.async_set_updated_data(self.data)

    async def async_install_firmware(
        self, firmware_type: FirmwareType, progress: Callable[[int, int | None], None]
    ) -> FirmwareDownload:
        """Download the offered firmware (size-capped, MD5-checked), record it, announce it."""
        offer = self.data.offers.get(firmware_type)
        if offer is None:
            raise LookupError("no firmware update is offered")
        name = f"{firmware_type.name.lower()}-{offer.version.replace(' ', '_')}.bin"
        dest = Path(self.hass.config.path(FIRMWARE_DIR, self.config_entry.entry_id, name))
        await self.hass.async_add_executor_job(
            lambda: dest.parent.mkdir(parents=True, exist_ok=True)
        )
        downloaded = await download_firmware(
            self._http,
            offer.url,
            dest,
            max_size=FIRMWARE_MAX_SIZE,
            expected_md5=None,
            progress=progress,
        )
        result = FirmwareDownload(
            firmware_type, offer.version, downloaded.path, downloaded.size, downloaded.md5
        )
        self.data.offers.pop(firmware_type, None)
        if offer.target_fid is not None:
            self.data.current_fid[firmware_type] = offer.target_fid
            self._save()
        else:
            new_data = {**self.config_entry.data, SOFT_VERSION_KEYS[firmware_type]: offer.version}
            self.hass.config_entries.async_update_entry(self.config_entry, data=new_data)
            await self._report_version(firmware_type, offer.version)
        for listener in list(self.firmware_listeners):
            listener(result)
        self.async_set_updated_data(self.data)
        return result

    async def _report_version(self, firmware_type: FirmwareType, version: str) -> None:
        """Tell GService the version now installed (the v4.1 call reports it, §7)."""
        data = self.config_entry.data
        try:
            await self.gservice.ota_update_and_check(
                did=data[CONF_DID],
                passcode=data[CONF_PASSCODE],
                firmware_type=firmware_type,
                hard_version=str(data[HARD_VERSION_KEYS[firmware_type]]),
                soft_version=version,
            )
        except GServiceError as err:
            LOGGER.warning("Could not report the new firmware version to Gizwits: %s", err)

    @property
    def connected(self) -> bool:
        """True while the M2M session is logged in."""
        return self.data.status.state is ConnectionState.CONNECTED

    def diagnostics_status(self) -> dict[str, Any]:
        """Connection status and counters for diagnostics."""
        status = self.data.status
        return {
            "state": status.state,
            "failures": status.failures,
            "retry_in": status.retry_in,
            "last_error": status.last_error,
            "endpoint": None
            if status.endpoint is None
            else {"host": status.endpoint.host, "port": status.endpoint.port},
            "stats": self.session.stats.as_dict(),
        }


__all__ = ["GizwitsConfigEntry", "GizwitsDeviceCoordinator", "GizwitsDeviceData"]
