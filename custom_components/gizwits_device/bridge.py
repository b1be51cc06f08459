"""Entity bridge: a Gizwits product's data points <-> HA entities over P0 (protocol.md §5).

One GizwitsBridge per config entry whose options hold a product definition. Mapped points
follow an HA entity (export mode); unmapped points are this device's own "native" values, shown
by the native entities (native.py) and persisted in a Store. The bridge is the session's
command handler: app controls become service calls or native changes, reads are answered to the
asking app (inside the 0x0094 of a 0x0093), and HA-side changes become 0x04 status reports to
all apps (coalesced; at most REPORT_MIN_INTERVAL apart).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
import json
import math
from typing import Any

from homeassistant.core import Context, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.event import (
    async_track_state_change_event,
    async_track_time_interval,
)
from homeassistant.helpers.storage import Store
import probatio as vol

from .bridge_targets import bridge_config, parse_mapping
from .bridge_values import (
    ConversionError,
    ServiceCall,
    Target,
    check_value,
    default_value,
    from_json_value,
    read_value,
    to_json_value,
    write_call,
)
from .const import (
    CONF_MAPPING,
    CONF_PRODUCT,
    DOMAIN,
    EVENT_APP_CONTROL,
    LOGGER,
    PERIODIC_REPORT_INTERVAL,
    REPORT_DEBOUNCE,
    REPORT_MIN_INTERVAL,
    STORAGE_VERSION,
)
from .coordinator import GizwitsDeviceCoordinator
from .errors import translated
from .protocol import (
    AppCommand,
    ConnectionState,
    ConnectionStatus,
    Control,
    M2MError,
    OnlineAppCount,
    P0Action,
    P0Codec,
    P0Error,
    P0FlagError,
    P0Message,
    P0PointError,
    ProductModel,
    ReadReply,
    ReadRequest,
    ReceivedFrame,
    StatusReport,
    Value,
)

_CONTROL_ACTIONS = frozenset({P0Action.CONTROL, P0Action.VARLEN_CONTROL})


@dataclass(slots=True)
class BridgeStats:
    """Counters for diagnostics."""

    commands: int = 0
    reads: int = 0
    rejected: int = 0
    undecodable: int = 0
    reports_sent: int = 0


class GizwitsBridge:
    """Speaks P0 for one device on behalf of its mapped entities and native values."""

    def __init__(
        self,
        hass: HomeAssistant,
        coordinator: GizwitsDeviceCoordinator,
        model: ProductModel,
        mapping: Mapping[str, Target],
        config: str | None = None,
    ) -> None:
        self.hass = hass
        self.coordinator = coordinator
        self.model = model
        self.codec = P0Codec(model)
        self.mapping = dict(mapping)
        self.config = config
        self.native_points = tuple(p for p in model.points if p.name not in self.mapping)
        self.stats = BridgeStats()
        self._values: dict[str, Value] = {p.name: default_value(p) for p in model.points}
        entry = coordinator.config_entry
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}.bridge"
        )
        self._unsubscribe: list[Callable[[], None]] = []
        self._unfollow: Callable[[], None] | None = None
        self._warned: set[str] = set()
        self._last_reported: dict[str, Value] | None = None
        self._last_report_at = -math.inf
        self._report_handle: asyncio.TimerHandle | None = None
        self._online_apps: int | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def from_options(
        cls,
        hass: HomeAssistant,
        coordinator: GizwitsDeviceCoordinator,
        options: Mapping[str, Any],
    ) -> GizwitsBridge | None:
        """A bridge for the entry's options, or None without a product.

        Raises ProductDefinitionError when the stored product is invalid.
        """
        config = bridge_config(options)
        if config is None:
            return None
        model = ProductModel.from_json(options[CONF_PRODUCT])
        mapping = parse_mapping(model, options.get(CONF_MAPPING))
        return cls(hass, coordinator, model, mapping, config)

    # -- lifecycle ---------------------------------------------------------------------------

    async def async_start(self) -> None:
        """Restore native values, follow mapped entities and the session; report if connected."""
        stored = await self._store.async_load() or {}
        saved = stored.get("values", {})
        for point in self.native_points:
            if point.name in saved:
                try:
                    self._values[point.name] = from_json_value(point, saved[point.name])
                except ConversionError:
                    LOGGER.debug("Ignoring the stored value of %s", point.name)
        self._refresh_mapped()
        session = self.coordinator.session
        self._unsubscribe = [
            session.add_frame_listener(self._on_frame),
            session.add_status_listener(self._on_status),
            session.set_command_handler(self._on_command),
            async_track_time_interval(
                self.hass,
                self._periodic_report,
                PERIODIC_REPORT_INTERVAL,
                name="gizwits_device periodic report",
            ),
        ]
        self._follow_mapped()
        self._online_apps = self.coordinator.data.online_apps
        if session.connected:
            self.report_now()

    @callback
    def _follow_mapped(self) -> None:
        """Track the state of the mapped entities (only these)."""
        if self._unfollow is not None:
            self._unfollow()
            self._unfollow = None
        entity_ids = sorted({t.entity_id for t in self.mapping.values()})
        if entity_ids:
            self._unfollow = async_track_state_change_event(
                self.hass, entity_ids, self._on_state_change
            )

    @callback
    def async_follow(self, options: Mapping[str, Any]) -> bool:
        """Follow the options' mapping in place, without rebuilding the device's entities.

        Only when the same points are mapped (to other entities or attributes) of the same
        product with the same units: the native entities stay as they are. False when the
        entry must reload (another product, other units, a point mapped or made native).
        """
        config = bridge_config(options)
        if config is None or self.config is None:
            return False
        product, _mapping, units = json.loads(config)
        if [product, units] != [json.loads(self.config)[i] for i in (0, 2)]:
            return False
        mapping = parse_mapping(self.model, options.get(CONF_MAPPING))
        if mapping.keys() != self.mapping.keys():
            return False
        self.mapping = mapping
        self.config = config
        self._follow_mapped()
        if self._refresh_mapped():
            self._schedule_report()
        return True

    @callback
    def async_stop(self) -> None:
        """Stop listening and drop any pending report."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        if self._unfollow is not None:
            self._unfollow()
            self._unfollow = None
        if self._report_handle is not None:
            self._report_handle.cancel()
            self._report_handle = None

    # -- values ------------------------------------------------------------------------------

    def value(self, name: str) -> Value:
        """The current value of a point."""
        return self._values[name]

    def status(self) -> dict[str, Value]:
        """Every point's current value (mapped ones as last read)."""
        return dict(self._values)

    async def async_set_native(self, name: str, value: object) -> None:
        """An HA-side change of a native point (entity action): store it and report it."""
        point = self.model.point(name)
        if name in self.mapping:
            raise translated(
                ServiceValidationError,
                "point_is_mapped",
                point=name,
                entity_id=self.mapping[name].entity_id,
            )
        try:
            checked = check_value(point, value)
        except ConversionError as err:
            raise translated(
                ServiceValidationError, "invalid_point_value", point=name, value=repr(value)
            ) from err
        self._apply_native({name: checked})
        self._schedule_report()

    @callback
    def _apply_native(self, values: Mapping[str, Value]) -> None:
        changed = {k: v for k, v in values.items() if self._values.get(k) != v}
        if not changed:
            return
        self._values.update(changed)
        self._save()
        # The native entities follow the coordinator, like every other entity.
        self.coordinator.async_update_listeners()

    @callback
    def _save(self) -> None:
        data = {"values": {p.name: to_json_value(self._values[p.name]) for p in self.native_points}}
        # Saved at once (not delayed) so nothing is pending when the entry unloads.
        self.coordinator.config_entry.async_create_task(
            self.hass, self._store.async_save(data), "gizwits_device bridge save"
        )

    @callback
    def _refresh_mapped(self, entity_id: str | None = None) -> bool:
        """Re-read mapped points (of one entity); True when a value changed."""
        changed = False
        for name, target in self.mapping.items():
            if entity_id is not None and target.entity_id != entity_id:
                continue
            state = self.hass.states.get(target.entity_id)
            value = read_value(self.model.point(name), target, state)
            # Unavailable or unreadable: keep the last known value (a status needs one).
            if value is not None and value != self._values[name]:
                self._values[name] = value
                changed = True
        return changed

    @callback
    def _on_state_change(self, event: Event[EventStateChangedData]) -> None:
        if self._refresh_mapped(event.data["entity_id"]):
            self._schedule_report()

    # -- reports -----------------------------------------------------------------------------

    @callback
    def _schedule_report(self) -> None:
        """Coalesce HA-side changes: one report REPORT_DEBOUNCE later, >= 1/6 s apart."""
        if self._report_handle is not None:
            return
        loop = self.hass.loop
        delay = max(REPORT_DEBOUNCE, self._last_report_at + REPORT_MIN_INTERVAL - loop.time())
        self._report_handle = loop.call_later(delay, self._scheduled_report)

    @callback
    def _scheduled_report(self) -> None:
        self._report_handle = None
        if self._values != self._last_reported:
            self.report_now()

    @callback
    def _periodic_report(self, _now: datetime) -> None:
        """The MCU SDK's full report every 600 s, while any app is online (protocol.md §5):
        a cloud app, or one logged in on the local network."""
        lan = self.coordinator.data.lan
        if (self._online_apps and self.coordinator.session.connected) or (lan and lan.clients):
            self.report_now()

    @callback
    def report_now(self) -> None:
        """Send the full status to every app now (replaces any pending coalesced report)."""
        if self._report_handle is not None:
            self._report_handle.cancel()
            self._report_handle = None
        self._last_reported = dict(self._values)
        self._last_report_at = self.hass.loop.time()
        self._send(StatusReport(self._values))

    def _encode(self, message: P0Message) -> bytes | None:
        try:
            return self.codec.encode(message)
        except P0Error as err:  # a bug, not bad input: our own values always fit
            LOGGER.error("Could not encode a Gizwits status: %s", err)
            return None

    @callback
    def _send(self, message: StatusReport) -> None:
        """Send a status report to every app."""
        payload = self._encode(message)
        if payload is None:
            return
        self.stats.reports_sent += 1
        self.coordinator.config_entry.async_create_background_task(
            self.hass, self._async_send(payload), "gizwits_device bridge send"
        )

    async def _async_send(self, payload: bytes) -> None:
        try:
            # To every LAN app and the cloud (protocol.md §8 status reports).
            await self.coordinator.async_send_passthrough(payload)
        except M2MError as err:
            # The reconnect sends a full report anyway.
            LOGGER.debug("Could not send a Gizwits status: %s", err)

    # -- session events ----------------------------------------------------------------------

    @callback
    def _on_status(self, status: ConnectionStatus) -> None:
        if status.state is ConnectionState.CONNECTED:
            self.report_now()

    @callback
    def _on_frame(self, received: ReceivedFrame) -> None:
        frame = received.frame
        if isinstance(frame, OnlineAppCount):
            previous, self._online_apps = self._online_apps, frame.count
            if previous == 0 and frame.count > 0:
                self.report_now()

    async def _on_command(self, command: AppCommand) -> bytes | None:
        """Answer an app's P0 command (protocol.md §4, §5): a read gets the status back
        (inside the 0x0094 for a 0x0093); a control is applied or refused before the ack,
        and its status report goes to every app."""
        payload = command.payload
        try:
            message = self.codec.decode(payload)
        except (P0PointError, P0FlagError) as err:
            if payload[0] in _CONTROL_ACTIONS:
                self._reject(f"app control rejected: {err}", type(err).__name__)
                return None
            self._undecodable(err)
            return None
        except P0Error as err:
            self._undecodable(err)
            return None
        if isinstance(message, Control):
            await self._async_control(message.values, command)
        elif isinstance(message, ReadRequest):
            self.stats.reads += 1
            names = message.names
            values = self._values if names is None else {n: self._values[n] for n in names}
            return self._encode(ReadReply(values))
        return None

    def _undecodable(self, err: P0Error) -> None:
        self.stats.undecodable += 1
        LOGGER.debug("Dropped an undecodable P0 payload: %s", err)

    @callback
    def _reject(self, reason: str, key: str | None = None) -> None:
        """Ignore the control like the MCU SDK and tell the apps the (unchanged) status.

        Warned once per `key` (default: the reason). Where the reason quotes values an app
        chose, the key leaves them out: an app must not flood the log or grow this set.
        """
        self.stats.rejected += 1
        key = reason if key is None else key
        if key in self._warned:
            LOGGER.debug("%s", reason)
        else:
            self._warned.add(key)
            LOGGER.warning("%s", reason)
        self.report_now()

    async def _async_control(self, values: Mapping[str, Value], command: AppCommand) -> None:
        """Apply an app's control: all of it or (when any part cannot be applied) none.

        The service calls carry a context whose origin is an EVENT_APP_CONTROL event, so the
        logbook says a Gizwits app changed the mapped entities (logbook.py).
        """
        async with self._lock:
            self.stats.commands += 1
            native: dict[str, Value] = {}
            calls: list[ServiceCall] = []
            try:
                for name, value in values.items():
                    point = self.model.point(name)
                    target = self.mapping.get(name)
                    if target is None:
                        native[name] = check_value(point, value)
                    else:
                        state = self.hass.states.get(target.entity_id)
                        calls.append(write_call(point, target, state, value))
            except ConversionError as err:
                self._reject(f"app control rejected: {err}")
                return
            self._apply_native(native)
            context = Context()
            self.hass.bus.async_fire(
                EVENT_APP_CONTROL,
                {
                    "entry_id": self.coordinator.config_entry.entry_id,
                    "app_client_id": command.app_client_id,
                    "source": command.source.value,
                    "points": sorted(values),
                },
                context=context,
            )
            for call in calls:
                try:
                    await self.hass.services.async_call(
                        call.domain, call.service, call.data, blocking=True, context=context
                    )
                except (HomeAssistantError, vol.Invalid, ValueError) as err:
                    self._reject(
                        f"app control failed: {call.domain}.{call.service}: {err}",
                        f"{call.domain}.{call.service}",
                    )
                    return
            self._refresh_mapped()
            self.report_now()
