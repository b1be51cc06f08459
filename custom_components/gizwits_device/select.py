"""Selects: the product's unmapped writable enum points (see native.py)."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .bridge import GizwitsBridge
from .coordinator import GizwitsDeviceCoordinator
from .native import NativePointEntity, async_add_native_entities
from .protocol import DataPoint
from .runtime import GizwitsConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GizwitsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up one select per native writable enum point."""
    async_add_native_entities(entry, Platform.SELECT, NativeSelect, async_add_entities)


class NativeSelect(NativePointEntity, SelectEntity):
    """A writable enum point."""

    description_type = SelectEntityDescription

    def __init__(
        self, coordinator: GizwitsDeviceCoordinator, bridge: GizwitsBridge, point: DataPoint
    ) -> None:
        super().__init__(coordinator, bridge, point)
        self._attr_options = list(point.options)

    @property
    def current_option(self) -> str | None:
        """The value."""
        value = self.point_value
        return value if isinstance(value, str) else None

    async def async_select_option(self, option: str) -> None:
        """Set the point."""
        await self._async_set(option)
