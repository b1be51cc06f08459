"""Event entities: app commands (passthrough) and downloaded firmware."""

from __future__ import annotations

import base64

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import EVENT_FIRMWARE_DOWNLOADED
from .coordinator import FirmwareDownload, GizwitsConfigEntry
from .entity import GizwitsEntity
from .protocol import AckedPassthrough, AppPassthrough, ReceivedFrame

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
    """Set up the event entities."""
    coordinator = entry.runtime_data
    async_add_entities(
        [AppCommandEvent(coordinator, APP_COMMAND), FirmwareEvent(coordinator, FIRMWARE)]
    )


class AppCommandEvent(GizwitsEntity, EventEntity):
    """Fires for every passthrough an app sends (0x0090, and 0x0093 once per sn)."""

    async def async_added_to_hass(self) -> None:
        """Listen to the session's frames."""
        await super().async_added_to_hass()
        self.async_on_remove(self.coordinator.session.add_frame_listener(self._on_frame))

    @callback
    def _on_frame(self, received: ReceivedFrame) -> None:
        frame = received.frame
        if isinstance(frame, AppPassthrough):
            event_type, sn = EVENT_PASSTHROUGH, None
        elif isinstance(frame, AckedPassthrough):
            event_type, sn = EVENT_ACKED_PASSTHROUGH, frame.sn
        else:
            return
        self._trigger_event(
            event_type,
            {
                "payload": frame.payload.hex(),
                "payload_base64": base64.b64encode(frame.payload).decode("ascii"),
                "app_client_id": received.app_client_id,
                "acked": received.acked,
                "sn": sn,
            },
        )
        self.async_write_ha_state()


class FirmwareEvent(GizwitsEntity, EventEntity):
    """Fires when a firmware was downloaded and verified, for the flashing automation."""

    async def async_added_to_hass(self) -> None:
        """Listen for finished installs."""
        await super().async_added_to_hass()
        listeners = self.coordinator.firmware_listeners
        listeners.append(self._on_download)
        self.async_on_remove(lambda: listeners.remove(self._on_download))

    @callback
    def _on_download(self, download: FirmwareDownload) -> None:
        self._trigger_event(
            EVENT_FIRMWARE_DOWNLOADED,
            {
                "firmware_type": download.firmware_type.name.lower(),
                "version": download.version,
                "path": str(download.path),
                "size": download.size,
                "md5": download.md5,
            },
        )
        self.async_write_ha_state()
