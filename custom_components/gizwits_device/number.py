"""Numbers: the product's unmapped writable uint points (see native.py)."""

from __future__ import annotations

from homeassistant.components.number import NumberEntity, NumberEntityDescription, NumberMode
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .bridge import GizwitsBridge
from .coordinator import GizwitsDeviceCoordinator
from .native import NativePointEntity, async_add_native_entities
from .protocol import DataPoint
from .runtime import GizwitsConfigEntry
from .units import CONF_UNITS, unit_of

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GizwitsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up one number per native writable uint point."""
    async_add_native_entities(entry, Platform.NUMBER, NativeNumber, async_add_entities)


class NativeNumber(NativePointEntity, NumberEntity):
    """A writable uint point (shown value, steps of its ratio)."""

    description_type = NumberEntityDescription
    _attr_mode = NumberMode.BOX

    def __init__(
        self, coordinator: GizwitsDeviceCoordinator, bridge: GizwitsBridge, point: DataPoint
    ) -> None:
        super().__init__(coordinator, bridge, point)
        self._attr_native_min_value = float(point.shown_min)
        self._attr_native_max_value = float(point.shown_max)
        self._attr_native_step = float(point.ratio or 1)
        if (unit := unit_of(coordinator.config_entry.options.get(CONF_UNITS), point)) is not None:
            self._attr_native_unit_of_measurement = unit.unit
            self._attr_device_class = unit.number_class

    @property
    def native_value(self) -> float:
        """The value."""
        value = self.point_value
        return float(value) if isinstance(value, int | float) else 0.0

    async def async_set_native_value(self, value: float) -> None:
        """Set the point (quantized to its ratio)."""
        await self._async_set(int(value) if self.point.integral else value)
