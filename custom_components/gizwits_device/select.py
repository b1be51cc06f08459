"""Selects: the product's unmapped writable enum points (see native.py)."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import Platform

from .native import NativePointEntity, native_platform
from .protocol import DataPoint

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


async_setup_entry = native_platform(Platform.SELECT, NativeSelect)
