"""Button: Allow app binding (opens the LAN binding window, GAgent's binding mode)."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import GizwitsDeviceCoordinator
from .entity import GizwitsEntity
from .lan_entry import GizwitsLanDevice
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
    if (lan := entry.runtime_data.lan) is not None:
        async_add_entities([AllowAppBindingButton(entry.runtime_data.coordinator, lan)])


class AllowAppBindingButton(GizwitsEntity, ButtonEntity):
    """Lets LAN apps fetch the passcode for 3 minutes (the passcode is never sent otherwise)."""

    def __init__(self, coordinator: GizwitsDeviceCoordinator, lan: GizwitsLanDevice) -> None:
        super().__init__(coordinator, ALLOW_APP_BINDING)
        self._lan = lan

    @property
    def available(self) -> bool:
        """Available while the LAN service serves this device, whatever the cloud does."""
        state = self.coordinator.data.lan
        return self._lan.served and state is not None and state.listening

    async def async_press(self) -> None:
        """Open (or restart) the binding window."""
        self._lan.allow_binding()
        # Re-opening restarts the window without a state change: "Binding ends" and the
        # notification follow the coordinator, so tell them.
        self.coordinator.async_update_listeners()
