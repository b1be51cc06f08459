"""Selects: the product's unmapped writable enum points (see native.py)."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .native import NativePointEntity, async_add_native_entities
from .protocol import DataPoint
from .runtime import GizwitsConfigEntry

PARALLEL_UPDATES = 0


class NativeSelect(NativePointEntity, SelectEntity):
    """A writable enum point."""

    description_type = SelectEntityDescription

    def _configure(self, point: DataPoint) -> None:
        self._attr_options = list(point.options)

    @property
    def current_option(self) -> str | None:
        """The value."""
        value = self.point_value
        return value if isinstance(value, str) else None

    async def async_select_option(self, option: str) -> None:
        """Set the point."""
        await self._async_set(option)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GizwitsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One select per native writable enum point (none without a product)."""
    async_add_native_entities(hass, entry, async_add_entities, Platform.SELECT, NativeSelect)
