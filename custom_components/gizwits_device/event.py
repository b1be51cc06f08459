"""Event entities: app commands (passthrough) and downloaded firmware.

Both follow the coordinator like every other entity: the coordinator keeps the last command and
the last download as new objects, and an entity fires when the one it sees is not the one it
saw before. What happened before the entity was added is not fired.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import callback

from .const import EVENT_FIRMWARE_DOWNLOADED
from .coordinator import (
    COMMAND_CONTEXT,
    AppCommandRecord,
    GizwitsDeviceCoordinator,
    GizwitsDeviceData,
)
from .entity import GizwitsEntity, entry_platform
from .ota import FirmwareDownload
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


class GizwitsEvent[HappeningT](GizwitsEntity, EventEntity):
    """Fires for each new object ``happening`` finds in the coordinator's data."""

    def __init__(
        self,
        coordinator: GizwitsDeviceCoordinator,
        description: EventEntityDescription,
        context: object = None,
    ) -> None:
        super().__init__(coordinator, description, context)
        self._last_seen = self.happening(coordinator.data)

    def happening(self, data: GizwitsDeviceData) -> HappeningT | None:
        """The last thing that happened (None: nothing yet)."""
        raise NotImplementedError

    def event(self, happening: HappeningT) -> tuple[str, dict[str, Any]]:
        """The event type and attributes to fire for ``happening``."""
        raise NotImplementedError

    @callback
    def _handle_coordinator_update(self) -> None:
        happening = self.happening(self.coordinator.data)
        if happening is not None and happening is not self._last_seen:
            self._last_seen = happening
            self._trigger_event(*self.event(happening))
        super()._handle_coordinator_update()


class AppCommandEvent(GizwitsEvent[AppCommandRecord]):
    """Fires for every passthrough an app sends (0x0090, and 0x0093 once per sn)."""

    def happening(self, data: GizwitsDeviceData) -> AppCommandRecord | None:
        """The last app command."""
        return data.last_command

    def event(self, happening: AppCommandRecord) -> tuple[str, dict[str, Any]]:
        """One passthrough: its payload (hex and base64), sender, transport, and sn when acked."""
        command = happening
        event_type = EVENT_PASSTHROUGH if command.sn is None else EVENT_ACKED_PASSTHROUGH
        return event_type, command.as_event_data()


class FirmwareEvent(GizwitsEvent[FirmwareDownload]):
    """Fires when a firmware was downloaded, for the flashing automation.

    `verified` says whether its MD5 was checked against the cloud's Firmware-MD5; an
    automation should not flash an unverified file without the user's say.
    """

    def happening(self, data: GizwitsDeviceData) -> FirmwareDownload | None:
        """The last download."""
        return data.firmware.last_download

    def event(self, happening: FirmwareDownload) -> tuple[str, dict[str, Any]]:
        """Where the file is and what it is."""
        return EVENT_FIRMWARE_DOWNLOADED, happening.as_event_data()


def _entities(entry: GizwitsConfigEntry) -> list[EventEntity]:
    """The app command and firmware event entities."""
    coordinator = entry.runtime_data.coordinator
    return [
        # Told of every command alone (see COMMAND_CONTEXT), and of every other update.
        AppCommandEvent(coordinator, APP_COMMAND, COMMAND_CONTEXT),
        FirmwareEvent(coordinator, FIRMWARE),
    ]


async_setup_entry = entry_platform(_entities)
