"""Numbers: the product's unmapped writable uint points (see native.py)."""

from __future__ import annotations

from homeassistant.components.number import NumberEntity, NumberEntityDescription, NumberMode
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .native import NativePointEntity, async_add_native_entities
from .protocol import DataPoint
from .runtime import GizwitsConfigEntry

PARALLEL_UPDATES = 0


class NativeNumber(NativePointEntity, NumberEntity):
    """A writable uint point (shown value, steps of its ratio)."""

    description_type = NumberEntityDescription
    _attr_mode = NumberMode.BOX

    def _configure(self, point: DataPoint) -> None:
        self._attr_native_min_value = float(point.shown_min)
        self._attr_native_max_value = float(point.shown_max)
        self._attr_native_step = float(point.ratio or 1)
        if (unit := self._unit()) is not None:
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


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GizwitsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One number per native writable uint point (none without a product)."""
    async_add_native_entities(hass, entry, async_add_entities, Platform.NUMBER, NativeNumber)
