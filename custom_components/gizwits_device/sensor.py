"""Sensors: online apps, log level, last device log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.sensor import (
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .coordinator import GizwitsConfigEntry, GizwitsDeviceData
from .entity import GizwitsEntity
from .native import NativeSensor, native_points

PARALLEL_UPDATES = 0
MAX_STATE_LENGTH = 255


def log_level_attributes(data: GizwitsDeviceData) -> dict[str, Any]:
    """The 16-bit setting as protocol.md §4 rules: the value as received and its set bits."""
    value = data.log_level
    return {
        "hex": f"0x{value:04X}",
        "set_bits": [bit for bit in range(16) if value >> bit & 1],
        "bits_8_15": value >> 8,
        "bits_0_7": value & 0xFF,
    }


def last_log_attributes(data: GizwitsDeviceData) -> dict[str, Any] | None:
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
class GizwitsSensorDescription(SensorEntityDescription):
    """How a sensor reads the coordinator."""

    value_fn: Callable[[GizwitsDeviceData], StateType]
    attributes_fn: Callable[[GizwitsDeviceData], dict[str, Any] | None] = lambda _: None


DESCRIPTIONS: tuple[GizwitsSensorDescription, ...] = (
    GizwitsSensorDescription(
        key="online_apps",
        translation_key="online_apps",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: data.online_apps,
    ),
    GizwitsSensorDescription(
        key="log_level",
        translation_key="log_level",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.log_level,
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


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GizwitsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the sensors."""
    async_add_entities(
        GizwitsSensor(entry.runtime_data, description) for description in DESCRIPTIONS
    )
    coordinator = entry.runtime_data
    async_add_entities(NativeSensor(coordinator, p) for p in native_points(coordinator, "sensor"))


class GizwitsSensor(GizwitsEntity, SensorEntity):
    """A sensor of the device endpoint."""

    entity_description: GizwitsSensorDescription
    # Log contents can be 64 KiB: keep them out of the recorder.
    _unrecorded_attributes = frozenset({"content"})

    @property
    def native_value(self) -> StateType:
        """The value."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Details."""
        return self.entity_description.attributes_fn(self.coordinator.data)
