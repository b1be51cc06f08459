"""Native data points: the product's unmapped points as this device's own entities.

Writable bool/uint/enum -> switch/number/select; read-only (and alert/fault) bool -> binary
sensor (alert/fault as problems); everything else -> sensor (binary points as hex). Names come
from the point's display_name (user data, not translated). Values live in the library device;
the coordinator tells each entity when its own point's value changed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_connect, async_dispatcher_send
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .bridge import GizwitsBridge
from .const import DOMAIN
from .coordinator import GizwitsDeviceCoordinator
from .entity import GizwitsEntity
from .protocol import DataPoint, DataType, Value
from .runtime import GizwitsConfigEntry
from .units import CONF_UNITS, UnitPreset, unit_of


def platform_of(point: DataPoint) -> Platform:
    """Which platform shows a native point."""
    if point.data_type is DataType.BINARY:
        return Platform.SENSOR
    if point.writable:
        if point.data_type is DataType.BOOL:
            return Platform.SWITCH
        return Platform.NUMBER if point.is_uint else Platform.SELECT
    return Platform.BINARY_SENSOR if point.data_type is DataType.BOOL else Platform.SENSOR


class NativePointEntity(GizwitsEntity):
    """One native data point; always available (HA owns the value, online or not)."""

    # The platform's own description class: its entity reads platform-specific fields.
    description_type: type[EntityDescription] = EntityDescription

    def __init__(
        self, coordinator: GizwitsDeviceCoordinator, bridge: GizwitsBridge, point: DataPoint
    ) -> None:
        super().__init__(coordinator, self.description_type(key=f"point_{point.name}"))
        self.bridge = bridge
        self.point = point
        self._attr_name = point.display_name
        self._configure(point)

    def _configure(self, point: DataPoint) -> None:
        """Set what the platform's entity takes from the point (range, options, unit)."""

    def _unit(self) -> UnitPreset | None:
        """The unit (and device classes) the user chose for this point in the options."""
        return unit_of(self.coordinator.config_entry.options.get(CONF_UNITS), self.point)

    async def async_added_to_hass(self) -> None:
        """Follow the coordinator, and this point's value."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self.coordinator.async_add_point_listener(self.point.name, self.async_write_ha_state)
        )

    @property
    def available(self) -> bool:
        """Always: the value is HA's own."""
        return True

    @property
    def point_value(self) -> Value | None:
        """The point's current value (None once the product no longer has the point: the
        entity is about to be removed)."""
        return self.coordinator.data.values.get(self.point.name)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The data point's name and description."""
        return {"data_point": self.point.name, "description": self.point.description}

    async def _async_set(self, value: object) -> None:
        await self.bridge.async_set_native(self.point.name, value)


def native_entities[EntityT: NativePointEntity](
    entry: GizwitsConfigEntry,
    platform: Platform,
    entity_type: Callable[[GizwitsDeviceCoordinator, GizwitsBridge, DataPoint], EntityT],
) -> list[EntityT]:
    """One ``entity_type`` per native point ``platform`` shows (none without a bridge)."""
    runtime = entry.runtime_data
    if (bridge := runtime.bridge) is None:
        return []
    return [
        entity_type(runtime.coordinator, bridge, point)
        for point in bridge.native_points
        if platform_of(point) == platform
    ]


def _recreate_signal(entry: GizwitsConfigEntry) -> str:
    return f"{DOMAIN}_{entry.entry_id}_recreate_native"


@callback
def async_add_native_entities[EntityT: NativePointEntity](
    hass: HomeAssistant,
    entry: GizwitsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    platform: Platform,
    entity_type: Callable[[GizwitsDeviceCoordinator, GizwitsBridge, DataPoint], EntityT],
) -> None:
    """Add the platform's native entities, and make some anew when asked to
    (async_recreate_native_entities)."""
    added = {e.point.name: e for e in native_entities(entry, platform, entity_type)}
    async_add_entities(list(added.values()))

    async def _async_recreate(names: frozenset[str]) -> None:
        current = {e.point.name: e for e in native_entities(entry, platform, entity_type)}
        for name in list(added):
            if name in names or name not in current:
                # The registry entry stays (its id, name and settings) unless the point is
                # no longer native here (async_remove_stale_native_entities took it out);
                # adding the new entity updates the unit and device class it keeps.
                await added.pop(name).async_remove(force_remove=True)
        renewed = [e for name, e in current.items() if name not in added]
        added.update((e.point.name, e) for e in renewed)
        async_add_entities(renewed)

    @callback
    def _recreate(names: frozenset[str]) -> None:
        entry.async_create_task(hass, _async_recreate(names), f"{DOMAIN} native {platform}")

    entry.async_on_unload(async_dispatcher_connect(hass, _recreate_signal(entry), _recreate))


@callback
def async_recreate_native_entities(
    hass: HomeAssistant, entry: GizwitsConfigEntry, names: Collection[str]
) -> None:
    """Make the entities of these native points anew (e.g. for a new unit or device class:
    Home Assistant takes those from an entity when it is added)."""
    if names:
        async_dispatcher_send(hass, _recreate_signal(entry), frozenset(names))


@callback
def async_remove_stale_native_entities(
    hass: HomeAssistant, entry: GizwitsConfigEntry, bridge: GizwitsBridge | None
) -> None:
    """Remove registry entries of native points the product no longer has as native.

    A removed product, a point now mapped to an entity, or a point that moved platform would
    otherwise stay behind as a restored "unavailable" ghost.
    """
    prefix = f"{entry.unique_id}_point_"
    keep = {
        (str(platform_of(point)), f"{prefix}{point.name}")
        for point in (bridge.native_points if bridge is not None else ())
    }
    registry = er.async_get(hass)
    for registered in er.async_entries_for_config_entry(registry, entry.entry_id):
        if not registered.unique_id.startswith(prefix):
            continue
        if (registered.domain, registered.unique_id) not in keep:
            registry.async_remove(registered.entity_id)
