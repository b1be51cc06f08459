"""Native data-point entities: the product's unmapped points as this device's own entities.

Writable bool/uint/enum -> switch/number/select; read-only (and alert/fault) bool -> binary
sensor (alert/fault as problems); everything else -> sensor (binary points as hex). Names come
from the point's display_name (user data, not translated). Values live in the bridge.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.number import NumberEntity, NumberEntityDescription, NumberMode
from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
)
from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.typing import StateType

from .bridge import GizwitsBridge
from .coordinator import GizwitsDeviceCoordinator
from .entity import GizwitsEntity
from .protocol import Access, DataPoint, DataType

PROBLEM_ACCESS = (Access.ALERT, Access.FAULT)


def native_points(coordinator: GizwitsDeviceCoordinator, platform: str) -> list[DataPoint]:
    """The bridge's native points shown on ``platform`` (none without a bridge)."""
    bridge = coordinator.bridge
    if bridge is None:
        return []
    return [p for p in bridge.native_points if platform_of(p) == platform]


def platform_of(point: DataPoint) -> str:
    """Which platform shows a native point."""
    if point.data_type is DataType.BINARY:
        return "sensor"
    if point.writable:
        if point.data_type is DataType.BOOL:
            return "switch"
        return "number" if point.is_uint else "select"
    return "binary_sensor" if point.data_type is DataType.BOOL else "sensor"


class NativePointEntity(GizwitsEntity):
    """One native data point; always available (HA owns the value, online or not)."""

    description_type: type[EntityDescription] = EntityDescription

    def __init__(self, coordinator: GizwitsDeviceCoordinator, point: DataPoint) -> None:
        super().__init__(coordinator, self.description_type(key=f"point_{point.name}"))
        bridge = coordinator.bridge
        assert bridge is not None
        self.bridge: GizwitsBridge = bridge
        self.point = point
        self._attr_name = point.display_name

    async def async_added_to_hass(self) -> None:
        """Follow the bridge's native values."""
        await super().async_added_to_hass()
        self.async_on_remove(self.bridge.add_listener(self.async_write_ha_state))

    @property
    def available(self) -> bool:
        """Always: the value is HA's own."""
        return True

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The data point's name and description."""
        return {"data_point": self.point.name, "description": self.point.description}

    async def _async_set(self, value: object) -> None:
        await self.bridge.async_set_native(self.point.name, value)


class NativeSwitch(NativePointEntity, SwitchEntity):
    """A writable bool point."""

    description_type = SwitchEntityDescription

    @property
    def is_on(self) -> bool:
        """The value."""
        return bool(self.bridge.value(self.point.name))

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Set the point to true."""
        await self._async_set(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Set the point to false."""
        await self._async_set(False)


class NativeNumber(NativePointEntity, NumberEntity):
    """A writable uint point (shown value, steps of its ratio)."""

    description_type = NumberEntityDescription

    _attr_mode = NumberMode.BOX

    def __init__(self, coordinator: GizwitsDeviceCoordinator, point: DataPoint) -> None:
        super().__init__(coordinator, point)
        self._attr_native_min_value = float(point.shown_min)
        self._attr_native_max_value = float(point.shown_max)
        self._attr_native_step = float(point.ratio or 1)

    @property
    def native_value(self) -> float:
        """The value."""
        value = self.bridge.value(self.point.name)
        return float(value) if isinstance(value, int | float) else 0.0

    async def async_set_native_value(self, value: float) -> None:
        """Set the point (quantized to its ratio)."""
        await self._async_set(int(value) if self.point.integral else value)


class NativeSelect(NativePointEntity, SelectEntity):
    """A writable enum point."""

    description_type = SelectEntityDescription

    def __init__(self, coordinator: GizwitsDeviceCoordinator, point: DataPoint) -> None:
        super().__init__(coordinator, point)
        self._attr_options = list(point.options)

    @property
    def current_option(self) -> str | None:
        """The value."""
        value = self.bridge.value(self.point.name)
        return value if isinstance(value, str) else None

    async def async_select_option(self, option: str) -> None:
        """Set the point."""
        await self._async_set(option)


class NativeSensor(NativePointEntity, SensorEntity):
    """A read-only uint/enum point, or any binary point (hex)."""

    description_type = SensorEntityDescription

    def __init__(self, coordinator: GizwitsDeviceCoordinator, point: DataPoint) -> None:
        super().__init__(coordinator, point)
        if point.data_type is DataType.ENUM:
            self._attr_device_class = SensorDeviceClass.ENUM
            self._attr_options = list(point.options)

    @property
    def native_value(self) -> StateType:
        """The value (bytes as hex)."""
        value = self.bridge.value(self.point.name)
        if isinstance(value, bytes):
            return value.hex()
        return value


class NativeBinarySensor(NativePointEntity, BinarySensorEntity):
    """A read-only bool point; alert and fault points are problems."""

    description_type = BinarySensorEntityDescription

    def __init__(self, coordinator: GizwitsDeviceCoordinator, point: DataPoint) -> None:
        super().__init__(coordinator, point)
        if point.access in PROBLEM_ACCESS:
            self._attr_device_class = BinarySensorDeviceClass.PROBLEM

    @property
    def is_on(self) -> bool:
        """The value."""
        return bool(self.bridge.value(self.point.name))
