"""A product's data points on a device: the values, the apps' P0 commands, the status reports.

Apps read and control the values over P0 (protocol.md §5). A read is answered to the asking
app (inside the 0x0094 of a 0x0093); a control is applied all or nothing by the device's
control applier (by default: the values are the device's own) and then reported to every app.
Changes made on the device's side are reported like the MCU SDK does: coalesced
(`ReportPacing.debounce`), at most one per `min_interval`, and a full report every `periodic`
seconds while any app is online.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
import logging
import math

from .. import p0_messages as p0
from ..commands import AppCommand
from ..errors import GizwitsError
from ..p0 import P0Codec
from ..p0_messages import P0Error, Value
from ..product import ProductModel
from .values import PointValueError, check_value, default_value, from_json_value, to_json_value

_LOGGER = logging.getLogger(__name__)

_CONTROL_ACTIONS = frozenset({p0.P0Action.CONTROL, p0.P0Action.VARLEN_CONTROL})


class ControlRejected(GizwitsError):
    """An app's control cannot be applied; nothing of it is (the apps get the status)."""

    def __init__(self, reason: str, key: str | None = None) -> None:
        super().__init__(reason)
        # Warned once per key; a reason quoting what an app chose needs a key without it.
        self.key = reason if key is None else key


# Applies an app's control (values already decoded); raises ControlRejected.
type ControlApplier = Callable[[Mapping[str, Value], AppCommand], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ReportPacing:
    """How status reports of device-side changes are paced (the MCU SDK's figures)."""

    debounce: float = 0.1
    min_interval: float = 1 / 6
    periodic: float = 600.0


@dataclass(slots=True)
class P0Stats:
    """Counters for diagnostics."""

    commands: int = 0
    reads: int = 0
    rejected: int = 0
    undecodable: int = 0
    reports_sent: int = 0


class DataPoints:
    """The values of one product's data points on one device, and the P0 spoken about them."""

    def __init__(
        self,
        model: ProductModel,
        *,
        send: Callable[[bytes], None],
        changed: Callable[[Mapping[str, Value], bool], None],
        apps_online: Callable[[], bool],
        followed: Collection[str] = (),
        pacing: ReportPacing | None = None,
    ) -> None:
        """`send` sends a report to every app; `changed(values, own)` is told of new values
        (`own`: a point the device keeps itself changed, so they need saving); `followed`
        names the points whose values follow something else (set_values), never stored."""
        self.model = model
        self.codec = P0Codec(model)
        self.followed = frozenset(followed)
        self.own_points = tuple(p for p in model.points if p.name not in self.followed)
        self.pacing = pacing or ReportPacing()
        self.stats = P0Stats()
        self._send = send
        self._changed = changed
        self._apps_online = apps_online
        self._values: dict[str, Value] = {p.name: default_value(p) for p in model.points}
        self._applier: ControlApplier = self._apply_own
        self._warned: set[str] = set()
        self._last_reported: dict[str, Value] | None = None
        self._last_report_at = -math.inf
        self._report_handle: asyncio.TimerHandle | None = None
        self._periodic_handle: asyncio.TimerHandle | None = None
        self._lock = asyncio.Lock()
        # While a control is applied, the full report that follows it covers every change.
        self._applying = False

    # -- values ------------------------------------------------------------------------------

    @property
    def values(self) -> dict[str, Value]:
        """A copy of every point's current value."""
        return dict(self._values)

    def restore(self, stored: Mapping[str, object]) -> None:
        """Take the stored values of the device's own points (unusable ones are ignored)."""
        for point in self.own_points:
            if point.name in stored:
                try:
                    self._values[point.name] = from_json_value(point, stored[point.name])
                except PointValueError:
                    _LOGGER.debug("Ignoring the stored value of %s", point.name)

    def stored(self) -> dict[str, object]:
        """The device's own values as they are stored."""
        return {p.name: to_json_value(self._values[p.name]) for p in self.own_points}

    def set_values(self, values: Mapping[str, Value], *, report: bool = True) -> bool:
        """New values from the device's side (already valid); True when any changed.

        A change is reported to the apps (paced) unless `report` is False.
        """
        changed = {k: v for k, v in values.items() if self._values[k] != v}
        if not changed:
            return False
        self._values.update(changed)
        self._changed(dict(self._values), not self.followed.issuperset(changed))
        if report and not self._applying:
            self.schedule_report()
        return True

    def set_applier(self, applier: ControlApplier | None) -> None:
        """Let `applier` apply the apps' controls (None: the values are the device's own)."""
        self._applier = applier or self._apply_own

    async def _apply_own(self, values: Mapping[str, Value], _command: AppCommand) -> None:
        try:
            checked = {n: check_value(self.model.point(n), v) for n, v in values.items()}
        except PointValueError as err:
            raise ControlRejected(f"app control rejected: {err}") from err
        self.set_values(checked, report=False)

    # -- reports -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the periodic report."""
        self._periodic_handle = asyncio.get_running_loop().call_later(
            self.pacing.periodic, self._periodic_report
        )

    def stop(self) -> None:
        """Drop any pending report and the periodic one."""
        for handle in (self._report_handle, self._periodic_handle):
            if handle is not None:
                handle.cancel()
        self._report_handle = self._periodic_handle = None

    def schedule_report(self) -> None:
        """Coalesce device-side changes: one report `debounce` later, `min_interval` apart."""
        if self._report_handle is not None:
            return
        loop = asyncio.get_running_loop()
        pacing = self.pacing
        delay = max(pacing.debounce, self._last_report_at + pacing.min_interval - loop.time())
        self._report_handle = loop.call_later(delay, self._scheduled_report)

    def _scheduled_report(self) -> None:
        self._report_handle = None
        if self._values != self._last_reported:
            self.report_now()

    def _periodic_report(self) -> None:
        """The MCU SDK's full report, while any app is online (protocol.md §5)."""
        self._periodic_handle = asyncio.get_running_loop().call_later(
            self.pacing.periodic, self._periodic_report
        )
        if self._apps_online():
            self.report_now()

    def report_now(self) -> None:
        """Send the full status to every app now (replaces any pending coalesced report)."""
        if self._report_handle is not None:
            self._report_handle.cancel()
            self._report_handle = None
        self._last_reported = dict(self._values)
        self._last_report_at = asyncio.get_running_loop().time()
        payload = self._encode(p0.StatusReport(self._values))
        if payload is not None:
            self.stats.reports_sent += 1
            self._send(payload)

    def _encode(self, message: p0.P0Message) -> bytes | None:
        try:
            return self.codec.encode(message)
        except P0Error as err:  # a bug, not bad input: our own values always fit
            _LOGGER.error("Could not encode a Gizwits status: %s", err)  # noqa: TRY400 - no traceback
            return None

    # -- commands ----------------------------------------------------------------------------

    async def handle(self, command: AppCommand) -> bytes | None:
        """Answer an app's P0 command (protocol.md §4, §5): a read gets the status back; a
        control is applied or refused before the ack, and its status goes to every app."""
        payload = command.payload
        try:
            message = self.codec.decode(payload)
        except (p0.P0PointError, p0.P0FlagError) as err:
            if payload[0] in _CONTROL_ACTIONS:
                self._reject(ControlRejected(f"app control rejected: {err}", type(err).__name__))
                return None
            self._undecodable(err)
            return None
        except P0Error as err:
            self._undecodable(err)
            return None
        if isinstance(message, p0.Control):
            async with self._lock:
                self.stats.commands += 1
                try:
                    self._applying = True
                    try:
                        await self._applier(message.values, command)
                    finally:
                        self._applying = False
                except ControlRejected as err:
                    self._reject(err)
                    return None
                except Exception:
                    self.schedule_report()  # an applier's bug: what it changed still goes out
                    raise
                self.report_now()
        elif isinstance(message, p0.ReadRequest):
            self.stats.reads += 1
            names = message.names
            values = self._values if names is None else {n: self._values[n] for n in names}
            return self._encode(p0.ReadReply(values))
        return None

    def _undecodable(self, err: P0Error) -> None:
        self.stats.undecodable += 1
        _LOGGER.debug("Dropped an undecodable P0 payload: %s", err)

    def _reject(self, err: ControlRejected) -> None:
        """Ignore the control like the MCU SDK and tell the apps the (unchanged) status."""
        self.stats.rejected += 1
        if err.key in self._warned:
            _LOGGER.debug("%s", err)
        else:
            self._warned.add(err.key)
            _LOGGER.warning("%s", err)
        self.report_now()
