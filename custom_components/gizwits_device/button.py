"""Button: Allow app binding (opens the LAN binding window, GAgent's binding mode)."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription

from .coordinator import GizwitsDeviceCoordinator
from .entity import GizwitsEntity, entry_platform
from .lan_entry import GizwitsLanDevice
from .runtime import GizwitsConfigEntry

PARALLEL_UPDATES = 0

ALLOW_APP_BINDING = ButtonEntityDescription(
    key="allow_app_binding", translation_key="allow_app_binding"
)


def _entities(entry: GizwitsConfigEntry) -> list[ButtonEntity]:
    """The binding button, while the entry answers apps on the local network."""
    lan = entry.runtime_data.lan
    if lan is None:
        return []
    return [AllowAppBindingButton(entry.runtime_data.coordinator, lan)]


async_setup_entry = entry_platform(_entities)


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
