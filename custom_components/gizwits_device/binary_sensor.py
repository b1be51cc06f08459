"""Binary sensors: M2M connectivity, logs enabled, indicator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONF_INDICATOR_BIT, DEFAULT_INDICATOR_BIT
from .coordinator import GizwitsConfigEntry, GizwitsDeviceCoordinator
from .entity import GizwitsEntity
from .native import NativeBinarySensor, native_points

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class GizwitsBinarySensorDescription(BinarySensorEntityDescription):
    """How a binary sensor reads the coordinator."""

    value_fn: Callable[[GizwitsDeviceCoordinator], bool]
    always_available: bool = False


def _indicator(coordinator: GizwitsDeviceCoordinator) -> bool:
    bit = int(coordinator.config_entry.options.get(CONF_INDICATOR_BIT, DEFAULT_INDICATOR_BIT))
    return bool(coordinator.data.log_level >> bit & 1)


DESCRIPTIONS: tuple[GizwitsBinarySensorDescription, ...] = (
    GizwitsBinarySensorDescription(
        key="connectivity",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda coordinator: coordinator.connected,
        always_available=True,
    ),
    GizwitsBinarySensorDescription(
        key="logs_enabled",
        translation_key="logs_enabled",
        entity_category=EntityCategory.DIAGNOSTIC,
        # The log level sensor already carries this; shown only for those who want it.
        entity_registry_enabled_default=False,
        value_fn=lambda coordinator: coordinator.data.log_level != 0,
    ),
    GizwitsBinarySensorDescription(
        key="indicator",
        translation_key="indicator",
        value_fn=_indicator,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GizwitsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the binary sensors."""
    async_add_entities(
        GizwitsBinarySensor(entry.runtime_data, description) for description in DESCRIPTIONS
    )
    coordinator = entry.runtime_data
    async_add_entities(
        NativeBinarySensor(coordinator, p) for p in native_points(coordinator, "binary_sensor")
    )


class GizwitsBinarySensor(GizwitsEntity, BinarySensorEntity):
    """A binary sensor of the device endpoint."""

    entity_description: GizwitsBinarySensorDescription

    @property
    def available(self) -> bool:
        """Connectivity is always known; the rest needs the session."""
        return self.entity_description.always_available or super().available

    @property
    def is_on(self) -> bool:
        """The value."""
        return self.entity_description.value_fn(self.coordinator)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Reconnect details on the connectivity sensor."""
        if self.entity_description.key != "connectivity":
            return None
        status = self.coordinator.data.status
        return {
            "state": status.state.value,
            "failed_attempts": status.failures,
            "retry_in": status.retry_in,
            "last_error": status.last_error,
        }
