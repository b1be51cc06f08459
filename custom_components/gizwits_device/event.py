"""Event entities: app commands (passthrough) and downloaded firmware.

The app-command entity follows the device's command stream directly (a command changes no
state); the firmware entity fires when the device state holds a new last download. Nothing
that happened before the entity was added is fired.
"""

from __future__ import annotations

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .bus_events import command_event_data
from .const import EVENT_FIRMWARE_DOWNLOADED
from .coordinator import GizwitsDeviceCoordinator
from .entity import GizwitsEntity
from .protocol import AppCommand
from .runtime import GizwitsConfigEntry

PARALLEL_UPDATES = 0

EVENT_PASSTHROUGH = "passthrough"
EVENT_ACKED_PASSTHROUGH = "acked_passthrough"

APP_COMMAND = EventEntityDescription(
    key="app_command",
    translation_key="app_command",
    event_types=[EVENT_PASSTHROUGH, EVENT_ACKED_PASSTHROUGH],
)
FIRMWARE = EventEntityDescription(
    key="firmware",
    translation_key="firmware",
    event_types=[EVENT_FIRMWARE_DOWNLOADED],
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GizwitsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The app command and firmware event entities."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(
        [AppCommandEvent(coordinator, APP_COMMAND), FirmwareEvent(coordinator, FIRMWARE)]
    )


class AppCommandEvent(GizwitsEntity, EventEntity):
    """Fires for every passthrough an app sends (0x0090, and 0x0093 but for an exact repeat of
    the same app's previous one within 10 s, a retransmission, protocol.md §4)."""

    async def async_added_to_hass(self) -> None:
        """Follow the coordinator (availability) and the device's command stream."""
        await super().async_added_to_hass()
        self.async_on_remove(self.coordinator.device.add_command_listener(self._on_command))

    @callback
    def _on_command(self, command: AppCommand) -> None:
        """One passthrough: its payload (hex and base64), sender, transport, and sn when acked."""
        event_type = EVENT_PASSTHROUGH if command.sn is None else EVENT_ACKED_PASSTHROUGH
        self._trigger_event(event_type, command_event_data(command))
        self.async_write_ha_state()


class FirmwareEvent(GizwitsEntity, EventEntity):
    """Fires when a firmware was downloaded, for the flashing automation.

    `verified` says whether its MD5 was checked against the cloud's Firmware-MD5; an
    automation should not flash an unverified file without the user's say.
    """

    def __init__(
        self, coordinator: GizwitsDeviceCoordinator, description: EventEntityDescription
    ) -> None:
        super().__init__(coordinator, description)
        self._last_seen = coordinator.data.firmware.last_download

    @callback
    def _handle_coordinator_update(self) -> None:
        download = self.coordinator.data.firmware.last_download
        if download is not None and download is not self._last_seen:
            self._last_seen = download
            self._trigger_event(EVENT_FIRMWARE_DOWNLOADED, download.as_event_data())
        super()._handle_coordinator_update()
