"""App command event entity: 0x0090 and 0x0093 from an app (protocol.md §4)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from .helpers import StateRecorder, TestDevice, entity_id, wait_until

if TYPE_CHECKING:
    from emulator.server import Emulator


async def test_app_commands_fire_events(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
) -> None:
    """0x0090 fires once; 0x0093 fires once per sn but is acked every time."""
    app_command = entity_id(hass, setup_integration, "event", "app_command")
    events = StateRecorder(hass, app_command)
    app = await emulator.app(device.did)

    await app.send_passthrough(b"\x01\x02\xff")
    await wait_until(lambda: len(events.states) == 1)
    fired = events.states[0].attributes
    assert fired["event_type"] == "passthrough"
    assert fired["payload"] == "0102ff"
    assert fired["payload_base64"] == "AQL/"
    assert fired["app_client_id"] == app.client_id
    assert fired["acked"] is False
    assert fired["sn"] is None

    # No product definition: the 0x0094 comes at once and is empty (protocol.md §4).
    assert await app.send_acked(b"\x10\x20", sn=4242) == b""
    await wait_until(lambda: len(events.states) == 2)
    fired = events.states[1].attributes
    assert fired["event_type"] == "acked_passthrough"
    assert fired["payload"] == "1020"
    assert fired["acked"] is True
    assert fired["sn"] == 4242
    assert fired["app_client_id"] == app.client_id

    # The same 0x0093 again (sn and payload) within 10 s: acked again, not executed twice.
    assert await app.send_acked(b"\x10\x20", sn=4242) == b""
    # A later frame from the same app arrives after the duplicate (one topic, in order).
    await app.send_passthrough(b"\xaa")
    await wait_until(lambda: len(events.states) == 3)
    assert events.attributes("payload") == ["0102ff", "1020", "aa"]
    assert setup_integration.runtime_data.device.session.stats.duplicates == 1


async def test_other_frames_fire_nothing(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
) -> None:
    """A 0x0010 or 0x0210 is not an app command."""
    app_command = entity_id(hass, setup_integration, "event", "app_command")
    events = StateRecorder(hass, app_command)
    app = await emulator.app(device.did)
    await app.set_log_level(1)
    await emulator.cloud.push_online_apps(device.did, 3)
    await wait_until(lambda: setup_integration.runtime_data.coordinator.data.online_apps == 3)
    await app.send_passthrough(b"\x00")
    await wait_until(lambda: len(events.states) == 1)
    assert events.attributes("payload") == ["00"]
