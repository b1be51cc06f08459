"""Bus events with the device_id, behind the device triggers (device_trigger.py).

Unlike a state trigger on an event entity, they never fire when an entry reloads, reconnects
or Home Assistant restarts: only for what happens while the device runs.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import HomeAssistant, callback

from .const import BUS_EVENT_APP_COMMAND, BUS_EVENT_APPS_ONLINE, BUS_EVENT_FIRMWARE_DOWNLOADED
from .protocol import AppCommand
from .protocol.device import Device, DeviceState, apps_came_online


def command_event_data(command: AppCommand) -> dict[str, Any]:
    """What the app-command event entity and bus event carry for one command."""
    return {
        "payload": command.payload.hex(),
        "payload_base64": base64.b64encode(command.payload).decode("ascii"),
        "app_client_id": command.app_client_id,
        # "cloud" (M2M) or "lan" (app_client_id is then the app's "host:port").
        "source": command.source.value,
        "acked": command.sn is not None,
        "sn": command.sn,
    }


@callback
def async_fire_bus_events(
    hass: HomeAssistant, device: Device, device_id: str
) -> Callable[[], None]:
    """Fire the device's bus events from now on; returns the function that stops them."""
    previous = device.state

    @callback
    def fire(event_type: str, data: dict[str, Any]) -> None:
        hass.bus.async_fire(event_type, {ATTR_DEVICE_ID: device_id, **data})

    @callback
    def on_command(command: AppCommand) -> None:
        fire(BUS_EVENT_APP_COMMAND, command_event_data(command))

    @callback
    def on_state(state: DeviceState) -> None:
        nonlocal previous
        last, previous = previous, state
        if apps_came_online(last, state):
            fire(BUS_EVENT_APPS_ONLINE, {"count": state.online_apps})
        download = state.firmware.last_download
        if download is not None and download is not last.firmware.last_download:
            fire(BUS_EVENT_FIRMWARE_DOWNLOADED, download.as_event_data())

    stops = [device.add_command_listener(on_command), device.add_listener(on_state)]

    @callback
    def stop() -> None:
        for unsubscribe in stops:
            unsubscribe()

    return stop
