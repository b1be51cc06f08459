"""Base entity (one HA device per config entry) and the platforms' shared set-up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from homeassistant.core import HomeAssistant, State, callback
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .coordinator import GizwitsDeviceCoordinator, GizwitsDeviceData
from .device import device_info
from .runtime import GizwitsConfigEntry


@dataclass(frozen=True, kw_only=True)
class GizwitsDescription(EntityDescription):
    """What the descriptions of the device's own sensors and binary sensors share."""

    attributes_fn: Callable[[GizwitsDeviceData], dict[str, Any] | None] = lambda _: None
    always_available: bool = False
    # Created only while the entry answers apps on the local network; available then,
    # whatever the cloud does.
    lan: bool = False


class GizwitsEntity(CoordinatorEntity[GizwitsDeviceCoordinator]):
    """An entity of the Gizwits device endpoint; unavailable while M2M is down."""

    _attr_has_entity_name = True
    # What the last write showed: every frame updates the coordinator, and apps send commands by
    # the hundred per second; rewriting a dozen unchanged entities each time cost about a fifth
    # of the integration's CPU per command.
    _written: tuple[tuple[object, ...], State | None] | None = None

    def __init__(
        self,
        coordinator: GizwitsDeviceCoordinator,
        description: EntityDescription,
        context: object = None,
    ) -> None:
        super().__init__(coordinator, context)
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

    def _shown(self) -> tuple[object, ...]:
        return (self.available, self.state, self.state_attributes, self.extra_state_attributes)

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state unless it would show what the last write showed.

        The State object is compared by identity: HA keeps it when a write changes nothing
        and replaces it on any change, so a write from elsewhere (an action's progress) is
        seen and the entity writes again.
        """
        shown = self._shown()
        written = self._written
        current = self.hass.states.get(self.entity_id)
        if written is not None and written[0] == shown and written[1] is current:
            return
        self.async_write_ha_state()
        self._written = (shown, self.hass.states.get(self.entity_id))


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
) -> list[E]:
    """One `entity` per description; the local network's only while the entry answers apps."""
    lan = entry.runtime_data.lan is not None
    coordinator = entry.runtime_data.coordinator
    return [entity(coordinator, d) for d in descriptions if lan or not d.lan]


type PlatformSetup = Callable[
    [HomeAssistant, GizwitsConfigEntry, AddConfigEntryEntitiesCallback], Awaitable[None]
]


def entry_platform(entities: Callable[[GizwitsConfigEntry], Iterable[Entity]]) -> PlatformSetup:
    """A platform's ``async_setup_entry``: it adds what ``entities`` makes for the entry."""

    async def async_setup_entry(
        hass: HomeAssistant,
        entry: GizwitsConfigEntry,
        async_add_entities: AddConfigEntryEntitiesCallback,
    ) -> None:
        async_add_entities(entities(entry))

    return async_setup_entry
