"""Button: Allow app binding (opens the LAN binding window, GAgent's binding mode)."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import GizwitsDeviceCoordinator
from .entity import GizwitsEntity, async_add_lan_entities
from .runtime import GizwitsConfigEntry

PARALLEL_UPDATES = 0

ALLOW_APP_BINDING = ButtonEntityDescription(
    key="allow_app_binding", translation_key="allow_app_binding"
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GizwitsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The binding button, while the entry answers apps on the local network."""
    coordinator = entry.runtime_data.coordinator
    async_add_lan_entities(
        hass, entry, async_add_entities, lambda: [AllowAppBindingButton(coordinator)]
    )


class AllowAppBindingButton(GizwitsEntity, ButtonEntity):
    """Lets LAN apps fetch the passcode for 3 minutes (the passcode is never sent otherwise)."""

    def __init__(self, coordinator: GizwitsDeviceCoordinator) -> None:
        super().__init__(coordinator, ALLOW_APP_BINDING)

    @property
    def available(self) -> bool:
        """Available while the LAN service serves this device, whatever the cloud does."""
        lan = self.coordinator.config_entry.runtime_data.lan
        state = self.coordinator.data.lan
        return lan is not None and lan.served and state is not None and state.listening

    async def async_press(self) -> None:
        """Open (or restart) the binding window."""
        if (lan := self.coordinator.config_entry.runtime_data.lan) is not None:
            lan.allow_binding()
        # Re-opening restarts the window without a state change: "Binding ends" and the
        # notification follow the coordinator, so tell them.
        self.coordinator.async_update_listeners()
