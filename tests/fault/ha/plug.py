"""The smart plug bridged to HA helpers (tests/integration/bridge_helpers.py), seen by an app.

switch → input_boolean.plug, countdown → input_number.countdown, power → input_number.power
(mapped, protocol.md §5); energy and overload stay native (persisted by the bridge).
"""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant

from emulator.app import AppSimulator, Received
from emulator.p0 import Control, DataPointCodec, StatusReport
from emulator.wire import DevicePassthrough
from tests.integration.bridge_helpers import PLUG

# The app side speaks P0 with the emulator's own codec (an independent witness).
PLUG_CODEC = DataPointCodec.from_definition(PLUG)


def ha_plug_values(hass: HomeAssistant) -> dict[str, Any]:
    """What HA shows for the switch and countdown points, in P0 terms."""
    switch = hass.states.get("input_boolean.plug")
    countdown = hass.states.get("input_number.countdown")
    assert switch is not None
    assert countdown is not None
    return {"switch": switch.state == "on", "countdown": round(float(countdown.state))}


def status_report(item: Received) -> dict[str, Any] | None:
    """The values of a plug status report sent to all apps (None: something else)."""
    if not isinstance(item.frame, DevicePassthrough) or item.topic.count("/") != 1:
        return None
    message = PLUG_CODEC.decode(item.frame.payload)
    return dict(message.values) if isinstance(message, StatusReport) else None


def control_payload(**values: Any) -> bytes:
    """A P0 control of the plug's writable points."""
    return PLUG_CODEC.encode(Control(values))


def reports_since(app: AppSimulator, mark: int) -> list[dict[str, Any]]:
    """Every status report the app received after its `mark`-th frame."""
    return [r for item in app.received[mark:] if (r := status_report(item)) is not None]
