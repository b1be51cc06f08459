"""Sensors: connection state, online apps (cloud and local), log level, last device log, when
binding ends; native read-only points."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .coordinator import GizwitsDeviceCoordinator
from .entity import (
    DescribedEntity,
    GizwitsDescription,
    async_add_lan_entities,
    described_entities,
)
from .native import NativePointEntity, async_add_native_entities
from .protocol import ConnectionState, DataPoint, DataType
from .protocol.device import DeviceState
from .runtime import GizwitsConfigEntry

PARALLEL_UPDATES = 0
MAX_STATE_LENGTH = 255


def connection_attributes(data: DeviceState) -> dict[str, Any]:
    """The session's reconnect details (they change with every attempt: not recorded)."""
    status = data.status
    return {
        "failed_attempts": status.failures,
        "retry_in": status.retry_in,
        "last_error": status.last_error,
    }


def log_level_text(data: DeviceState) -> str:
    """The 16-bit setting written as the protocol writes it: 0x0101, not 257."""
    return f"0x{data.log_level:04X}"


def log_level_attributes(data: DeviceState) -> dict[str, Any]:
    """The setting as protocol.md §4 rules: the number as received and its set bits."""
    value = data.log_level
    return {
        "value": value,
        "set_bits": [bit for bit in range(16) if value >> bit & 1],
        "bits_8_15": value >> 8,
        "bits_0_7": value & 0xFF,
    }


def last_log_attributes(data: DeviceState) -> dict[str, Any] | None:
    """Level, tag, source and the full content of the last 0x0012."""
    log = data.last_log
    if log is None:
        return None
    return {
        "level": log.level.name.lower(),
        "tag": log.tag,
        "source": log.source,
        "content": log.content,
        "sent_at": log.sent_at.isoformat(),
    }


@dataclass(frozen=True, kw_only=True)
class GizwitsSensorDescription(SensorEntityDescription, GizwitsDescription):
    """How a sensor reads the coordinator's data."""

    value_fn: Callable[[DeviceState], StateType]


DESCRIPTIONS: tuple[GizwitsSensorDescription, ...] = (
    GizwitsSensorDescription(
        key="connection_state",
        translation_key="connection_state",
        device_class=SensorDeviceClass.ENUM,
        options=[state.value for state in ConnectionState],
        entity_category=EntityCategory.DIAGNOSTIC,
        # Connectivity is the connection's entity: this one's state changes with every
        # attempt of an outage (Connecting, Waiting to retry…), for those who want that.
        entity_registry_enabled_default=False,
        value_fn=lambda data: data.status.state.value,
        attributes_fn=connection_attributes,
        always_available=True,
    ),
    GizwitsSensorDescription(
        key="online_apps",
        translation_key="online_apps",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: data.online_apps,
    ),
    GizwitsSensorDescription(
        key="local_apps",
        translation_key="local_apps",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: None if data.lan is None else len(data.lan.clients),
        attributes_fn=lambda data: {"clients": [] if data.lan is None else list(data.lan.clients)},
        lan=True,
    ),
    GizwitsSensorDescription(
        key="log_level",
        translation_key="log_level",
        entity_category=EntityCategory.DIAGNOSTIC,
        # What the apps asked to be logged: a diagnostic few look at.
        entity_registry_enabled_default=False,
        value_fn=log_level_text,
        attributes_fn=log_level_attributes,
    ),
    GizwitsSensorDescription(
        key="last_log",
        translation_key="last_log",
        # The state holds what fits of the content; the whole of it is an attribute.
        value_fn=lambda data: (
            None if data.last_log is None else data.last_log.content[:MAX_STATE_LENGTH]
        ),
        attributes_fn=last_log_attributes,
    ),
)


class GizwitsSensor(DescribedEntity, SensorEntity):
    """A sensor of the device endpoint."""

    entity_description: GizwitsSensorDescription
    # Log contents can be 64 KiB; reconnect details and bit breakdowns change often or only
    # restate the value: none of them belongs in the recorder.
    _unrecorded_attributes = frozenset(
        {"content", "failed_attempts", "retry_in", "last_error", "clients"}
        | {"value", "set_bits", "bits_8_15", "bits_0_7"}
    )

    @property
    def native_value(self) -> StateType:
        """The value."""
        return self.entity_description.value_fn(self.coordinator.data)


class NativeSensor(NativePointEntity, SensorEntity):
    """A read-only uint/enum point, or any binary point (hex)."""

    description_type = SensorEntityDescription

    def _configure(self, point: DataPoint) -> None:
        if point.data_type is DataType.ENUM:
            self._attr_device_class = SensorDeviceClass.ENUM
            self._attr_options = list(point.options)
        elif point.is_uint and (unit := self._unit()):
            self._attr_native_unit_of_measurement = unit.unit
            self._attr_device_class = unit.sensor_class
            self._attr_state_class = unit.state_class

    @property
    def native_value(self) -> StateType:
        """The value (bytes as hex)."""
        value = self.point_value
        if isinstance(value, bytes):
            return value.hex()
        return value


BINDING_ENDS = GizwitsSensorDescription(
    key="binding_ends",
    translation_key="binding_ends",
    device_class=SensorDeviceClass.TIMESTAMP,
    value_fn=lambda _: None,
    lan=True,
)


class BindingEndsSensor(DescribedEntity, SensorEntity):
    """When the binding window closes (a countdown in the UI); unknown while it is closed."""

    entity_description: GizwitsSensorDescription

    def __init__(self, coordinator: GizwitsDeviceCoordinator) -> None:
        super().__init__(coordinator, BINDING_ENDS)

    @property
    def native_value(self) -> datetime | None:
        """The end of the open binding window (the entry's, as the LAN options last set up)."""
        lan = self.coordinator.config_entry.runtime_data.lan
        return None if lan is None else lan.binding_ends


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GizwitsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The device's own sensors (the local network's and when the binding window ends while
    LAN is on), and one per native read-only uint, enum or binary point."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(described_entities(entry, DESCRIPTIONS, GizwitsSensor))
    async_add_native_entities(hass, entry, async_add_entities, Platform.SENSOR, NativeSensor)
    async_add_lan_entities(
        hass,
        entry,
        async_add_entities,
        lambda: [
            *described_entities(entry, DESCRIPTIONS, GizwitsSensor, lan=True),
            BindingEndsSensor(coordinator),
        ],
    )
