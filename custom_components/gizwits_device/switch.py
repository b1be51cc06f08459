"""Native data-point switches: the product's unmapped writable points (see native.py)."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import GizwitsConfigEntry
from .native import NativeSwitch, native_points

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GizwitsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up one entity per native switch point (none without a product definition)."""
    coordinator = entry.runtime_data
    async_add_entities(NativeSwitch(coordinator, p) for p in native_points(coordinator, "switch"))
