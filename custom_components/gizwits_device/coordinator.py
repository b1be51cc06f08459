"""The M2M session of one config entry and the state it pushes to every entity.

The session runs as a background task of the entry; its status and frames become
GizwitsDeviceData, and every change reaches the entities the same way: the coordinator's
listeners (async_set_updated_data / async_update_listeners). Nothing is polled.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, override

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util
from homeassistant.util.ssl import get_default_context

from .const import (
    BUS_EVENT_APP_COMMAND,
    BUS_EVENT_APPS_ONLINE,
    BUS_EVENT_FIRMWARE_DOWNLOADED,
    CONF_INDICATOR_BIT,
    DEFAULT_INDICATOR_BIT,
    DOMAIN,
    LOGGER,
    STORAGE_VERSION,
    UNREACHABLE_REPAIR_AFTER,
)
from .device import async_register_device
from .issues import (
    CONNECTION_ISSUES,
    ISSUE_UNREACHABLE,
    async_clear_issues,
    async_raise_issue,
)
from .ota import FirmwareDownload, FirmwareState, FirmwareUpdater
from .protocol import (
    AppCommand,
    CommandSource,
    ConnectionState,
    ConnectionStatus,
    DeviceLog,
    FirmwareType,
    GServiceClient,
    LogLevel,
    M2MAuthenticationError,
    M2MError,
    M2MSession,
    OnlineAppCount,
    OtaCheckNotification,
    OtaNotification,
    ReceivedFrame,
    SessionTiming,
    SetLogLevel,
)

if TYPE_CHECKING:
    from .runtime import GizwitsConfigEntry

# The coordinator-listener context of the entities that show app commands: a command changes
# nothing else, so only they are told (apps send commands by the hundred per second).
COMMAND_CONTEXT = "app_command"

# The protocol's intervals and GService's request timeout; tests replace them.
SESSION_TIMING = SessionTiming()
GSERVICE_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class DeviceLogRecord:
    """The last 0x0012 this endpoint sent."""

    level: LogLevel
    tag: str
    source: str
    content: str
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class AppCommandRecord:
    """A passthrough an app sent over the cloud or the LAN: 0x0090, or 0x0093 (once per sn)."""

    payload: bytes
    # The cloud app's client id, or a LAN app's "host:port".
    app_client_id: str | None
    acked: bool
    sn: int | None
    source: CommandSource = CommandSource.CLOUD

    def as_event_data(self) -> dict[str, Any]:
        """What the event entity and the device trigger's bus event carry."""
        return {
            "payload": self.payload.hex(),
            "payload_base64": base64.b64encode(self.payload).decode("ascii"),
            "app_client_id": self.app_client_id,
            # "cloud" (M2M) or "lan" (app_client_id is then the app's "host:port").
            "source": self.source.value,
            "acked": self.acked,
            "sn": self.sn,
        }


@dataclass(frozen=True, slots=True)
class LanState:
    """This device on the local network (None in the data while LAN is off for the entry)."""

    listening: bool = False
    # Why apps on the LAN cannot reach the device (None while listening).
    error: str | None = None
    clients: tuple[str, ...] = ()
    binding: bool = False


@dataclass(slots=True)
class GizwitsDeviceData:
    """Everything the entities show."""

    status: ConnectionStatus
    online_apps: int | None = None
    log_level: int = 0
    indicator_bit: int = DEFAULT_INDICATOR_BIT
    last_log: DeviceLogRecord | None = None
    # A new object for every command, so an event entity can tell a new one from the last.
    last_command: AppCommandRecord | None = None
    firmware: FirmwareState = field(default_factory=FirmwareState)
    lan: LanState | None = None

    @property
    def connected(self) -> bool:
        """True while the M2M session is logged in."""
        return self.status.state is ConnectionState.CONNECTED


def create_session(
    hass: HomeAssistant,
    base_url: str,
    did: str,
    passcode: str,
    product_key: str,
    *,
    product_secret: str | None = None,
) -> tuple[GServiceClient, M2MSession]:
    """The GService client and M2M session for one device, on HA's shared HTTP session.

    With a Product Secret every provision (before each connect) uses the safe call.
    """
    gservice = GServiceClient(
        async_get_clientsession(hass),
        base_url,
        timeout=GSERVICE_TIMEOUT,
        product_key=product_key,
        product_secret=product_secret,
    )
    session = M2MSession(
        gservice,
        did=did,
        passcode=passcode,
        product_key=product_key,
        timing=SESSION_TIMING,
        ssl_context=get_default_context(),
    )
    return gservice, session


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
        device_id: str,
    ) -> None:
        super().__init__(hass, LOGGER, config_entry=entry, name=DOMAIN, always_update=True)
        self.session = session
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}"
        )
        self._unsubscribe: list[Callable[[], None]] = []
        self._down_since: datetime | None = None
        # The device registry id the device triggers' bus events name.
        self.device_id = device_id
        # Whether a 0x0210 arrived since the last login (the first one is no "came online").
        self._counted_since_login = False
        # Sends a 0x0091 to every LAN app logged in to this device (while LAN is on).
        self._lan_sender: Callable[[bytes], int] | None = None
        self.data = GizwitsDeviceData(status=session.status)
        self.firmware = FirmwareUpdater(
            hass,
            entry,
            gservice,
            self.data.firmware,
            changed=self.async_update_listeners,
            save=self._save,
            downloaded=self._on_download,
            installed=self._on_installed,
        )
        self.apply_options(entry.options)

    @override
    async def _async_update_data(self) -> GizwitsDeviceData:
        """Nothing to fetch: the session pushes every change (homeassistant.update_entity)."""
        return self.data

    # -- lifecycle -----------------------------------------------------------------------

    async def async_start(self) -> None:
        """Load persisted state, listen to the session and start it in the background."""
        stored = await self._store.async_load() or {}
        self.data.log_level = int(stored.get("log_level", 0)) & 0xFFFF
        self.data.firmware.current_fid.update(
            {
                FirmwareType(int(key)): int(fid)
                for key, fid in stored.get("current_fid", {}).items()
                if str(key) in ("1", "2")
            }
        )
        for key, raw in stored.get("pending", {}).items():
            if str(key) in ("1", "2"):
                firmware_type = FirmwareType(int(key))
                if download := FirmwareDownload.from_stored(firmware_type, raw):
                    self.data.firmware.pending[firmware_type] = download
        self._unsubscribe = [
            self.session.add_frame_listener(self._on_frame),
            self.session.add_status_listener(self._on_status),
            # Cloud and LAN commands share the session's runner: one event for both.
            self.session.commands.add_listener(self._on_command),
        ]
        self.config_entry.async_on_unload(self.async_stop)
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
        self.firmware.async_stop()

    @callback
    def apply_options(self, options: Mapping[str, Any]) -> None:
        """Take the options the entities read (applied live, without a reload)."""
        self.data.indicator_bit = int(options.get(CONF_INDICATOR_BIT, DEFAULT_INDICATOR_BIT))
        self.async_update_listeners()

    async def _async_run_session(self) -> None:
        try:
            await self.session.run()
        except M2MAuthenticationError as err:
            LOGGER.warning("Gizwits refused this device's DID/passcode: %s", err)
            # The reauth flow comes with Home Assistant's own repair: no second one for it.
            # During set-up, ConfigEntryAuthFailed already starts the reauth flow.
            if self.config_entry.state is ConfigEntryState.LOADED:
                self.config_entry.async_start_reauth(self.hass)

    # -- session events ------------------------------------------------------------------

    @callback
    def _fire(self, event_type: str, data: Mapping[str, Any]) -> None:
        """A bus event for the device triggers; never on reload, reconnect or restart."""
        self.hass.bus.async_fire(event_type, {ATTR_DEVICE_ID: self.device_id, **data})

    @callback
    def _on_download(self, download: FirmwareDownload) -> None:
        self._fire(BUS_EVENT_FIRMWARE_DOWNLOADED, download.as_event_data())

    @callback
    def _on_installed(self) -> None:
        """The device card shows the firmware versions: follow them without a reload."""
        async_register_device(self.hass, self.config_entry)

    @callback
    def _on_status(self, status: ConnectionStatus) -> None:
        previous = self.data.status.state
        self.data.status = status
        if status.state is not ConnectionState.CONNECTED:
            self._counted_since_login = False
        if status.state is ConnectionState.CONNECTED:
            self._down_since = None
            async_clear_issues(self.hass, self.config_entry.entry_id, CONNECTION_ISSUES)
            if previous is not ConnectionState.CONNECTED:
                self.firmware.schedule_check(tuple(FirmwareType))
        elif status.state in (ConnectionState.CONNECTING, ConnectionState.WAITING):
            # HA's clock (not the monotonic one), so tests can move it with freezer.
            now = dt_util.utcnow()
            if self._down_since is None:
                self._down_since = now
            elif (now - self._down_since).total_seconds() >= UNREACHABLE_REPAIR_AFTER:
                async_raise_issue(
                    self.hass,
                    self.config_entry,
                    ISSUE_UNREACHABLE,
                    ir.IssueSeverity.WARNING,
                    error=status.last_error or "",
                )
        self.async_set_updated_data(self.data)

    @callback
    def _on_command(self, command: AppCommand) -> None:
        record = AppCommandRecord(
            command.payload,
            command.app_client_id,
            command.sn is not None,
            command.sn,
            command.source,
        )
        self.data.last_command = record
        self._fire(BUS_EVENT_APP_COMMAND, record.as_event_data())
        for update_callback, context in list(self._listeners.values()):
            if context == COMMAND_CONTEXT:
                try:
                    update_callback()
                except Exception:
                    LOGGER.exception("Error updating an app command listener")

    @callback
    def _on_frame(self, received: ReceivedFrame) -> None:
        frame = received.frame
        if isinstance(frame, OnlineAppCount):
            if self._counted_since_login and self.data.online_apps == 0 and frame.count > 0:
                self._fire(BUS_EVENT_APPS_ONLINE, {"count": frame.count})
            self._counted_since_login = True
            self.data.online_apps = frame.count
        elif isinstance(frame, SetLogLevel):
            self.data.log_level = frame.value
            self._save()
        elif isinstance(frame, OtaNotification):
            self.firmware.offer_target_fid(frame.firmware_type, frame.target_fid, frame.url)
        elif isinstance(frame, OtaCheckNotification):
            self.firmware.schedule_check((frame.firmware_type,))
            return
        else:
            return
        self.async_set_updated_data(self.data)

    # -- persistence ---------------------------------------------------------------------

    @callback
    def _save(self) -> None:
        # Saved at once (not delayed) so nothing is pending when the entry unloads.
        firmware = self.data.firmware
        data = {
            "log_level": self.data.log_level,
            "current_fid": {str(int(k)): v for k, v in firmware.current_fid.items()},
            "pending": {str(int(k)): v.as_stored() for k, v in firmware.pending.items()},
        }
        self.config_entry.async_create_task(
            self.hass, self._store.async_save(data), "gizwits_device save"
        )

    # -- sending -------------------------------------------------------------------------

    async def async_send_passthrough(
        self, payload: bytes, app_client_id: str | None = None
    ) -> None:
        """0x0091 to one cloud app, or to every app: each logged-in LAN app and the cloud.

        Raises M2MError when the cloud is down and no LAN app got it either.
        """
        if app_client_id is not None:
            await self.session.send_passthrough(payload, app_client_id)
            return
        local = self._lan_sender(payload) if self._lan_sender is not None else 0
        try:
            await self.session.send_passthrough(payload)
        except M2MError:
            if not local:
                raise

    @callback
    def async_set_lan_sender(self, sender: Callable[[bytes], int]) -> Callable[[], None]:
        """Let reports to every app reach the LAN apps too (`sender` returns how many got
        it); returns its remover."""
        self._lan_sender = sender

        @callback
        def remove() -> None:
            self._lan_sender = None

        return remove

    @callback
    def async_set_lan_state(self, state: LanState | None) -> None:
        """Show the device's LAN state (the LAN service calls this on every change)."""
        self.data.lan = state
        self.async_update_listeners()

    # -- logs ----------------------------------------------------------------------------

    async def async_send_log(self, level: LogLevel, tag: str, source: str, content: str) -> None:
        """Send a 0x0012 and remember it for the last-log sensor."""
        frame: DeviceLog = await self.session.send_log(level, tag, source, content)
        self.data.last_log = DeviceLogRecord(
            frame.level, frame.tag, frame.source, frame.content, dt_util.utcnow()
        )
        self.async_set_updated_data(self.data)

    # -- diagnostics ---------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while the M2M session is logged in."""
        return self.data.connected

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
