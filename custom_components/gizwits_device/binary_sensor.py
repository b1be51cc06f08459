"""Binary sensors: M2M and LAN connectivity, logs enabled, indicator, app binding; native
read-only bool points."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import (
    DescribedEntity,
    GizwitsDescription,
    async_add_lan_entities,
    described_entities,
)
from .native import NativePointEntity, async_add_native_entities
from .protocol import Access, DataPoint
from .protocol.device import DeviceState
from .runtime import GizwitsConfigEntry

PARALLEL_UPDATES = 0
PROBLEM_ACCESS = (Access.ALERT, Access.FAULT)


@dataclass(frozen=True, kw_only=True)
class GizwitsBinarySensorDescription(BinarySensorEntityDescription, GizwitsDescription):
    """How a binary sensor reads the coordinator's data."""

    # None for the indicator: it reads the log level bit the options choose.
    value_fn: Callable[[DeviceState], bool] | None = None


DESCRIPTIONS: tuple[GizwitsBinarySensorDescription, ...] = (
    GizwitsBinarySensorDescription(
        key="connectivity",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.connected,
        always_available=True,
    ),
    GizwitsBinarySensorDescription(
        key="logs_enabled",
        translation_key="logs_enabled",
        entity_category=EntityCategory.DIAGNOSTIC,
        # The log level sensor already carries this; shown only for those who want it.
        entity_registry_enabled_default=False,
        value_fn=lambda data: data.log_level != 0,
    ),
    GizwitsBinarySensorDescription(
        key="indicator",
        translation_key="indicator",
    ),
    GizwitsBinarySensorDescription(
        key="local_network",
        translation_key="local_network",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.lan is not None and data.lan.listening,
        attributes_fn=lambda data: {"error": None if data.lan is None else data.lan.error},
        lan=True,
    ),
    GizwitsBinarySensorDescription(
        key="app_binding",
        translation_key="app_binding",
        value_fn=lambda data: data.lan is not None and data.lan.binding,
        lan=True,
    ),
)


class GizwitsBinarySensor(DescribedEntity, BinarySensorEntity):
    """A binary sensor of the device endpoint."""

    entity_description: GizwitsBinarySensorDescription
    _unrecorded_attributes = frozenset({"error"})

    @property
    def is_on(self) -> bool:
        """The value; the indicator: the log level's bit the options choose."""
        data = self.coordinator.data
        if (value_fn := self.entity_description.value_fn) is None:
            return bool(data.log_level >> self.coordinator.indicator_bit & 1)
        return value_fn(data)


class NativeBinarySensor(NativePointEntity, BinarySensorEntity):
    """A read-only bool point; alert and fault points are problems."""

    description_type = BinarySensorEntityDescription

    def _configure(self, point: DataPoint) -> None:
        if point.access in PROBLEM_ACCESS:
            self._attr_device_class = BinarySensorDeviceClass.PROBLEM

    @property
    def is_on(self) -> bool:
        """The value."""
        return bool(self.point_value)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GizwitsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The device's own binary sensors (the local network's while LAN is on), and one per
    native read-only bool point."""
    async_add_entities(described_entities(entry, DESCRIPTIONS, GizwitsBinarySensor))
    async_add_native_entities(
        hass, entry, async_add_entities, Platform.BINARY_SENSOR, NativeBinarySensor
    )
    async_add_lan_entities(
        hass,
        entry,
        async_add_entities,
        lambda: described_entities(entry, DESCRIPTIONS, GizwitsBinarySensor, lan=True),
    )
