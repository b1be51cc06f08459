"""Logbook: an app's control says which entry and data points it changed.

The bridge's service calls carry the context of this event, so the entities they change are
shown in the logbook as triggered by it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.components.logbook.const import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback

from .const import DOMAIN, EVENT_APP_CONTROL


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, Any]]], None],
) -> None:
    """Describe the bridge's app-control event."""

    @callback
    def describe_app_control(event: Event) -> dict[str, Any]:
        entry = hass.config_entries.async_get_entry(event.data["entry_id"])
        app = event.data.get("app_client_id") or "a Gizwits app"
        if event.data.get("source") == "lan":
            app = f"{app} (local network)"
        return {
            LOGBOOK_ENTRY_NAME: "Gizwits" if entry is None else entry.title,
            LOGBOOK_ENTRY_MESSAGE: f"{app} set {', '.join(event.data['points'])}",
        }

    async_describe_event(DOMAIN, EVENT_APP_CONTROL, describe_app_control)
