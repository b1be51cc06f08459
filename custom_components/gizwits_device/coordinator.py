"""The device's state as entity data: the coordinator of one config entry.

The library device pushes every real change of its `DeviceState` (there is no polling). A
change of the data-point values alone reaches only the entities of the points that changed
(`async_add_point_listener`); any other change reaches every entity.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, override

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from .const import CONF_INDICATOR_BIT, DEFAULT_INDICATOR_BIT, DOMAIN, LOGGER
from .protocol.device import Device, DeviceState

if TYPE_CHECKING:
    from .runtime import GizwitsConfigEntry


class GizwitsDeviceCoordinator(DataUpdateCoordinator[DeviceState]):
    """Adapts one library device's state to its entities."""

    config_entry: GizwitsConfigEntry

    def __init__(self, hass: HomeAssistant, entry: GizwitsConfigEntry, device: Device) -> None:
        super().__init__(hass, LOGGER, config_entry=entry, name=DOMAIN, always_update=False)
        self.device = device
        self.data = device.state
        self.indicator_bit = DEFAULT_INDICATOR_BIT
        self._point_listeners: dict[str, list[CALLBACK_TYPE]] = {}
        entry.async_on_unload(device.add_listener(self._on_state))
        self.apply_options(entry.options)

    @override
    async def _async_update_data(self) -> DeviceState:
        """Nothing to fetch: the device pushes every change (homeassistant.update_entity)."""
        return self.device.state

    @property
    def connected(self) -> bool:
        """True while the M2M session is logged in."""
        return self.data.connected

    @callback
    def apply_options(self, options: Mapping[str, Any]) -> None:
        """Take the options the entities read (applied live, without a reload)."""
        self.indicator_bit = int(options.get(CONF_INDICATOR_BIT, DEFAULT_INDICATOR_BIT))
        self.async_update_listeners()

    @callback
    def async_add_point_listener(self, name: str, update: CALLBACK_TYPE) -> Callable[[], None]:
        """Call `update` when the value of data point `name` changes; returns its remover."""
        listeners = self._point_listeners.setdefault(name, [])
        listeners.append(update)
        return lambda: listeners.remove(update)

    @callback
    def _on_state(self, state: DeviceState) -> None:
        previous = self.data
        if replace(previous, values=state.values) != state:
            self.async_set_updated_data(state)
        else:
            self.data = state
        for name, value in state.values.items():
            if previous.values.get(name) != value:
                for update in list(self._point_listeners.get(name, ())):
                    update()
