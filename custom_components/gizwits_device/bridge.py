"""Entity bridge: a product's mapped data points <-> the HA entities they follow (§5).

The library device holds the values, answers the apps and paces the status reports. The
bridge translates: a mapped entity's state becomes its points' values (`read_value`), and an
app's control becomes service calls (`write_call`), made all or nothing with a context whose
origin is an EVENT_APP_CONTROL event (the logbook says a Gizwits app changed the entities).
Unmapped points are the device's own ("native"), shown by the native entities (native.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
import json
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import Context, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.event import async_track_state_change_event
import probatio as vol

from .bridge_targets import bridge_config, parse_mapping
from .bridge_values import ConversionError, ServiceCall, Target, check_value, read_value, write_call
from .const import CONF_MAPPING, CONF_PRODUCT, EVENT_APP_CONTROL
from .errors import translated
from .protocol import AppCommand, ProductModel, Value
from .protocol.device import ControlRejected, Device


@dataclass(frozen=True, slots=True)
class BridgeOptions:
    """The product and mapping the entry's options hold."""

    model: ProductModel
    mapping: Mapping[str, Target]
    # What the bridge was made for (bridge_targets.bridge_config): a change the bridge cannot
    # follow (async_follow) makes a new bridge.
    config: str

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> BridgeOptions | None:
        """None without a product; raises ProductDefinitionError for an invalid one."""
        config = bridge_config(options)
        if config is None:
            return None
        model = ProductModel.from_json(options[CONF_PRODUCT])
        return cls(model, parse_mapping(model, options.get(CONF_MAPPING)), config)


class GizwitsBridge:
    """Follows the mapped entities for one device and applies the apps' controls to them."""

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, device: Device, options: BridgeOptions
    ) -> None:
        assert device.points is not None  # the device was made with the options' product
        self.hass = hass
        self.entry = entry
        self.device = device
        self.model = options.model
        self.mapping = dict(options.mapping)
        self.config = options.config
        self.native_points = device.points.own_points
        self._unfollow: Callable[[], None] | None = None
        self._stop: Callable[[], None] | None = None

    @callback
    def async_start(self) -> Callable[[], None]:
        """Read the mapped entities, follow them, apply the apps' controls; returns the stop."""
        points = self.device.points
        assert points is not None
        self.device.set_values(self._read_mapped(), report=False)
        points.set_applier(self._async_apply)
        self._follow_mapped()

        @callback
        def stop() -> None:
            points.set_applier(None)
            if self._unfollow is not None:
                self._unfollow()
                self._unfollow = None

        self._stop = stop
        return self.async_stop

    @callback
    def async_stop(self) -> None:
        """Stop following the entities and applying controls (what async_start started)."""
        if self._stop is not None:
            self._stop()
            self._stop = None

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
    def async_follow(self, options: Mapping[str, Any]) -> frozenset[str] | None:
        """Follow the options' mapping and units in place, on the same device.

        Only when the same points are mapped (to other entities or attributes) of the same
        product: the device's points stay as they are. Returns the native points whose unit
        choice changed (their entities take the new unit when re-created); None when the
        device needs other points (another product, a point mapped or made native).
        """
        config = bridge_config(options)
        if config is None:
            return None
        product, _mapping, units = json.loads(config)
        old_product, _old_mapping, old_units = json.loads(self.config)
        if product != old_product:
            return None
        mapping = parse_mapping(self.model, options.get(CONF_MAPPING))
        if mapping.keys() != self.mapping.keys():
            return None
        self.mapping = mapping
        self.config = config
        self._follow_mapped()
        # Changed values go to the apps (paced) like any HA-side change.
        self.device.set_values(self._read_mapped())
        return frozenset(
            point.name
            for point in self.native_points
            if units.get(point.name) != old_units.get(point.name)
        )

    async def async_set_native(self, name: str, value: object) -> None:
        """An HA-side change of a native point (entity action); the device reports it."""
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
        self.device.set_values({name: checked})

    @callback
    def _read_mapped(self, entity_id: str | None = None) -> dict[str, Value]:
        """The mapped points' values (of one entity) as their entities show them."""
        values: dict[str, Value] = {}
        for name, target in self.mapping.items():
            if entity_id is not None and target.entity_id != entity_id:
                continue
            state = self.hass.states.get(target.entity_id)
            value = read_value(self.model.point(name), target, state)
            # Unavailable or unreadable: keep the last known value (a status needs one).
            if value is not None:
                values[name] = value
        return values

    @callback
    def _on_state_change(self, event: Event[EventStateChangedData]) -> None:
        self.device.set_values(self._read_mapped(event.data["entity_id"]))

    async def _async_apply(self, values: Mapping[str, Value], command: AppCommand) -> None:
        """Apply an app's control: all of it or (when any part cannot be applied) none."""
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
            raise ControlRejected(f"app control rejected: {err}") from err
        self.device.set_values(native, report=False)
        context = Context()
        self.hass.bus.async_fire(
            EVENT_APP_CONTROL,
            {
                "entry_id": self.entry.entry_id,
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
                raise ControlRejected(
                    f"app control failed: {call.domain}.{call.service}: {err}",
                    f"{call.domain}.{call.service}",
                ) from err
        self.device.set_values(self._read_mapped(), report=False)
