"""Base entity (one HA device per config entry) and the descriptions of the device's own data."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .coordinator import GizwitsDeviceCoordinator
from .device import device_info
from .lan_entry import lan_joined_signal
from .protocol.device import DeviceState
from .runtime import GizwitsConfigEntry


@dataclass(frozen=True, kw_only=True)
class GizwitsDescription(EntityDescription):
    """What the descriptions of the device's own sensors and binary sensors share."""

    attributes_fn: Callable[[DeviceState], dict[str, Any] | None] = lambda _: None
    always_available: bool = False
    # Created only while the entry answers apps on the local network; available then,
    # whatever the cloud does.
    lan: bool = False


class GizwitsEntity(CoordinatorEntity[GizwitsDeviceCoordinator]):
    """An entity of the Gizwits device endpoint; unavailable while M2M is down."""

    _attr_has_entity_name = True

    def __init__(
        self, coordinator: GizwitsDeviceCoordinator, description: EntityDescription
    ) -> None:
        super().__init__(coordinator)
        self.entity_description = description
        entry = coordinator.config_entry
        self._attr_unique_id = f"{entry.unique_id}_{description.key}"
        self._attr_device_info = device_info(entry)

    @property
    def available(self) -> bool:
        """Available while logged in to M2M, unless the description says always (connection);
        the local network's entities while the entry answers LAN apps, whatever the cloud does."""
        description = self.entity_description
        if isinstance(description, GizwitsDescription):
            if description.lan:
                return self.coordinator.data.lan is not None
            if description.always_available:
                return True
        return self.coordinator.data.connected


class DescribedEntity(GizwitsEntity):
    """An entity of the device's own data, read through its GizwitsDescription."""

    entity_description: GizwitsDescription

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Details, e.g. why the LAN service is not listening."""
        return self.entity_description.attributes_fn(self.coordinator.data)


def described_entities[D: GizwitsDescription, E: Entity](
    entry: GizwitsConfigEntry,
    descriptions: Iterable[D],
    entity: Callable[[GizwitsDeviceCoordinator, D], E],
    *,
    lan: bool = False,
) -> list[E]:
    """One `entity` per description: the local network's ones (`lan`) or all the others."""
    coordinator = entry.runtime_data.coordinator
    return [entity(coordinator, d) for d in descriptions if d.lan is lan]


def async_add_lan_entities(
    hass: HomeAssistant,
    entry: GizwitsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    lan_entities: Callable[[], list[Entity]],
) -> None:
    """Add the platform's local network entities now while LAN is on, and again whenever
    the options turn it on (lan_entry.async_apply_lan_options; turning it off removes them)."""

    @callback
    def _async_add() -> None:
        async_add_entities(lan_entities())

    if entry.runtime_data.lan is not None:
        _async_add()
    entry.async_on_unload(async_dispatcher_connect(hass, lan_joined_signal(entry), _async_add))
