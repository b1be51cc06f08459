"""Switches: the product's unmapped writable bool points (see native.py)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .native import NativePointEntity, async_add_native_entities
from .runtime import GizwitsConfigEntry

PARALLEL_UPDATES = 0


class NativeSwitch(NativePointEntity, SwitchEntity):
    """A writable bool point."""

    description_type = SwitchEntityDescription

    @property
    def is_on(self) -> bool:
        """The value."""
        return bool(self.point_value)

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Set the point to true."""
        await self._async_set(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Set the point to false."""
        await self._async_set(False)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GizwitsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One switch per native writable bool point (none without a product)."""
    async_add_native_entities(hass, entry, async_add_entities, Platform.SWITCH, NativeSwitch)
