"""One Gizwits device: the M2M session, its commands, data points, firmware and LAN membership.

`Device` composes what a device is and keeps its `DeviceState`: listeners added with
`add_listener` get every new state (and only real changes); app commands go to a separate
stream (`add_command_listener`). What must survive a restart (log level, firmware records,
the device's own data-point values) goes through the injected `DeviceStore`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import replace
from datetime import UTC, datetime
import logging
from pathlib import Path
from typing import Any

import aiohttp

from ..commands import CommandListener, CommandRunner
from ..frame_fields import FirmwareType, LogLevel
from ..frames import OnlineAppCount, OtaCheckNotification, OtaNotification, SetLogLevel
from ..gservice import GServiceClient
from ..listeners import Listeners
from ..p0_messages import Value
from ..product import ProductModel
from ..session import M2MSession
from ..session_state import (
    ConnectionState,
    ConnectionStatus,
    M2MError,
    ReceivedFrame,
)
from .datapoints import DataPoints, ReportPacing
from .firmware import FirmwareUpdater
from .state import (
    DeviceIdentity,
    DeviceLogRecord,
    DeviceState,
    FirmwareDownload,
    FirmwareState,
    LanState,
)
from .store import DeviceStore, MemoryStore
from .values import to_json_value

_LOGGER = logging.getLogger(__name__)

type StateListener = Callable[[DeviceState], None]
# The name of the tasks that send a status report.
REPORT_TASK = "gizwits device status report"
# Sends a 0x0091 to every LAN app logged in to the device; returns how many got it.
type LanSender = Callable[[bytes], int]


class Device:
    """A Gizwits device towards the cloud and the apps, without any host application."""

    def __init__(
        self,
        session: M2MSession,
        gservice: GServiceClient,
        identity: DeviceIdentity,
        *,
        http: aiohttp.ClientSession,
        firmware_dir: Path | Callable[[], Path],
        product: ProductModel | None = None,
        followed_points: frozenset[str] = frozenset(),
        store: DeviceStore | None = None,
        pacing: ReportPacing | None = None,
    ) -> None:
        """`firmware_dir`: where downloads go (or what returns it when one starts);
        `followed_points`: points whose values follow something outside the device (its
        owner sets them with `set_values`); they are not stored."""
        self.session = session
        self.identity = identity
        self._store: DeviceStore = store if store is not None else MemoryStore()
        self._state = DeviceState(
            session.status, firmware=FirmwareState(installed=dict(identity.soft_versions))
        )
        self._listeners: Listeners[DeviceState] = Listeners("Gizwits device state")
        self._lan_sender: LanSender | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._saving: asyncio.Task[None] | None = None
        self._save_again = False
        self._unsubscribe: list[Callable[[], None]] = []
        self.firmware = FirmwareUpdater(
            gservice,
            identity,
            http,
            firmware_dir,
            state=lambda: self._state.firmware,
            put=self._put_firmware,
        )
        self._pacing = pacing
        self._started = False
        self._unset_handler: Callable[[], None] | None = None
        self.points: DataPoints | None = self._make_points(product, followed_points)
        if self.points is not None:
            self._state = replace(self._state, values=self.points.values)

    def _make_points(
        self, product: ProductModel | None, followed: frozenset[str]
    ) -> DataPoints | None:
        if product is None:
            return None
        return DataPoints(
            product,
            send=self._send_report,
            changed=self._values_changed,
            apps_online=lambda: self._state.apps_online,
            followed=followed,
            pacing=self._pacing,
        )

    # -- observing -----------------------------------------------------------------------

    @property
    def state(self) -> DeviceState:
        """The current state."""
        return self._state

    @property
    def connected(self) -> bool:
        """True while the M2M session is logged in."""
        return self._state.connected

    @property
    def commands(self) -> CommandRunner:
        """The one command runner of every transport (pass it to the LAN side)."""
        return self.session.commands

    def add_listener(self, listener: StateListener) -> Callable[[], None]:
        """Call `listener` with every new state; returns a function that removes it."""
        return self._listeners.add(listener)

    def add_command_listener(self, listener: CommandListener) -> Callable[[], None]:
        """Call `listener` once for every app command (cloud or LAN; repeats are not);
        returns a function that removes it."""
        return self.session.commands.add_listener(listener)

    def _set(self, state: DeviceState) -> None:
        if state != self._state:
            self._state = state
            self._listeners.notify(state)

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Load what was stored and follow the session (which `run()` then keeps online)."""
        stored = await self._store.load() or {}
        pending = {}
        for key, raw in dict(stored.get("pending", {})).items():
            if str(key) in ("1", "2"):
                firmware_type = FirmwareType(int(key))
                if download := FirmwareDownload.from_stored(firmware_type, raw):
                    pending[firmware_type] = download
        firmware = replace(
            self._state.firmware,
            current_fid={
                FirmwareType(int(key)): int(fid)
                for key, fid in dict(stored.get("current_fid", {})).items()
                if str(key) in ("1", "2")
            },
            pending=pending,
        )
        state = replace(
            self._state, log_level=int(stored.get("log_level", 0)) & 0xFFFF, firmware=firmware
        )
        if self.points is not None:
            self.points.restore(dict(stored.get("values", {})))
            state = replace(state, values=self.points.values)
            self._unset_handler = self.session.set_command_handler(self.points.handle)
            self.points.start()
        self._started = True
        self._set(state)
        self._unsubscribe += [
            self.session.add_frame_listener(self._on_frame),
            self.session.add_status_listener(self._on_status),
        ]
        if self.points is not None and self.session.connected:
            self.points.report_now()

    async def run(self) -> None:
        """Keep the device online until cancelled; raises M2MAuthenticationError when the
        cloud refuses its DID/passcode."""
        await self.session.run()

    async def wait_connected(self) -> None:
        """Wait for a login (use with a timeout); raises M2MAuthenticationError when refused."""
        await self.session.wait_connected()

    async def stop(self) -> None:
        """Stop following the session, drop pending reports and checks, finish saving."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        self._started = False
        self._stop_points()
        self.firmware.stop()
        for task in list(self._tasks):
            task.cancel()
        if self._saving is not None:
            await self._saving

    def _stop_points(self) -> None:
        if self._unset_handler is not None:
            self._unset_handler()
            self._unset_handler = None
        if self.points is not None:
            self.points.stop()

    def set_product(
        self, product: ProductModel | None, followed_points: frozenset[str] = frozenset()
    ) -> None:
        """Become a device of another product (or of none) on the same session.

        Points the new product has under the same name keep their value where it fits; the
        others start from their defaults. A started device answers the apps with the new
        points at once and, while logged in, reports its full status.
        """
        previous = self.points
        self._stop_points()
        self.points = self._make_points(product, followed_points)
        values: dict[str, Value] = {}
        if self.points is not None:
            if previous is not None:
                self.points.restore(
                    {name: to_json_value(value) for name, value in previous.values.items()}
                )
            values = self.points.values
            if self._started:
                self._unset_handler = self.session.set_command_handler(self.points.handle)
                self.points.start()
        self._set(replace(self._state, values=values))
        if self._started:
            self._save()
            if self.points is not None and self.session.connected:
                self.points.report_now()

    # -- session events ------------------------------------------------------------------

    def _on_status(self, status: ConnectionStatus) -> None:
        previous = self._state
        state = replace(previous, status=status)
        if status.state is not ConnectionState.CONNECTED:
            state = replace(state, apps_counted=False)
        self._set(state)
        if status.state is ConnectionState.CONNECTED and not previous.connected:
            self.firmware.schedule_check(tuple(FirmwareType))
            if self.points is not None:
                self.points.report_now()

    def _on_frame(self, received: ReceivedFrame) -> None:
        frame = received.frame
        if isinstance(frame, OnlineAppCount):
            previous = self._state
            self._set(replace(previous, online_apps=frame.count, apps_counted=True))
            if previous.online_apps == 0 and frame.count > 0 and self.points is not None:
                self.points.report_now()
        elif isinstance(frame, SetLogLevel):
            self._set(replace(self._state, log_level=frame.value))
            self._save()
        elif isinstance(frame, OtaNotification):
            self.firmware.offer_target_fid(frame.firmware_type, frame.target_fid, frame.url)
        elif isinstance(frame, OtaCheckNotification):
            self.firmware.schedule_check((frame.firmware_type,))

    # -- values --------------------------------------------------------------------------

    def set_values(self, values: Mapping[str, Value], *, report: bool = True) -> bool:
        """New data-point values from the device's side (valid ones: see `values`); they are
        reported to the apps (paced) unless `report` is False. True when any changed."""
        if self.points is None:
            raise LookupError("the device has no product")
        return self.points.set_values(values, report=report)

    def _values_changed(self, values: Mapping[str, Value], own: bool) -> None:
        self._set(replace(self._state, values=values))
        if own:
            self._save()

    # -- firmware and LAN ----------------------------------------------------------------

    def _put_firmware(self, firmware: FirmwareState) -> None:
        previous = self._state.firmware
        self._set(replace(self._state, firmware=firmware))
        if (firmware.current_fid, firmware.pending) != (previous.current_fid, previous.pending):
            self._save()

    def join_lan(self, sender: LanSender) -> Callable[[], None]:
        """Let reports to every app reach the LAN apps too; returns the function that leaves."""
        self._lan_sender = sender

        def leave() -> None:
            self._lan_sender = None

        return leave

    def set_lan_state(self, state: LanState | None) -> None:
        """The device's state on the local network (the LAN side tells every change)."""
        self._set(replace(self._state, lan=state))

    # -- sending -------------------------------------------------------------------------

    async def send_passthrough(self, payload: bytes, app_client_id: str | None = None) -> None:
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

    def _send_report(self, payload: bytes) -> None:
        """A status to every LAN app and the cloud (protocol.md §8 status reports), without a
        task when the M2M client can write at once: it goes out in the step that made it."""
        if self._lan_sender is not None:
            self._lan_sender(payload)
        try:
            if self.session.send_passthrough_nowait(payload):
                return
        except M2MError as err:
            # The reconnect sends a full report anyway.
            _LOGGER.debug("Could not send a Gizwits status: %s", err)
            return
        self._spawn(self._async_send_report(payload), REPORT_TASK)

    async def _async_send_report(self, payload: bytes) -> None:
        try:
            await self.session.send_passthrough(payload)
        except M2MError as err:
            _LOGGER.debug("Could not send a Gizwits status: %s", err)

    async def send_log(self, level: LogLevel, tag: str, source: str, content: str) -> None:
        """Send a 0x0012 and keep it as the last log."""
        frame = await self.session.send_log(level, tag, source, content)
        record = DeviceLogRecord(
            frame.level, frame.tag, frame.source, frame.content, datetime.now(UTC)
        )
        self._set(replace(self._state, last_log=record))

    # -- storing -------------------------------------------------------------------------

    def _save(self) -> None:
        """Save soon (at once, not delayed: nothing may be pending when the owner stops)."""
        if self._saving is not None:
            self._save_again = True
            return
        self._saving = asyncio.get_running_loop().create_task(self._async_save())

    async def _async_save(self) -> None:
        try:
            while True:
                self._save_again = False
                await self._store.save(self._stored())
                if not self._save_again:
                    return
        except Exception:
            _LOGGER.exception("Could not save the Gizwits device's records")
        finally:
            self._saving = None

    def _stored(self) -> dict[str, Any]:
        state = self._state
        firmware = state.firmware
        data: dict[str, Any] = {
            "log_level": state.log_level,
            "current_fid": {str(int(k)): v for k, v in firmware.current_fid.items()},
            "pending": {str(int(k)): v.as_stored() for k, v in firmware.pending.items()},
        }
        if self.points is not None:
            data["values"] = self.points.stored()
        return data

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
