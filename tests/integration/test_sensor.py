"""Sensors: online apps (0x0210), log level (0x0010), last log (0x0012) — protocol.md §4."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from emulator.wire import LogLevelConfirm

from .helpers import TestDevice, entity_id, state, wait_state

if TYPE_CHECKING:
    from emulator.server import Emulator


async def test_online_apps_follow_0x0210(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
) -> None:
    """Every 0x0210 push (operator value or a bound app) updates the sensor."""
    sensor = entity_id(hass, setup_integration, "sensor", "online_apps")
    await emulator.cloud.push_online_apps(device.did, 5)
    await wait_state(hass, sensor, lambda s: s.state == "5")
    assert state(hass, sensor).attributes["state_class"] == "measurement"

    await emulator.cloud.push_online_apps(device.did, None)  # back to counting bound apps
    await wait_state(hass, sensor, lambda s: s.state == "0")
    app = await emulator.app(device.did)
    await wait_state(hass, sensor, lambda s: s.state == "1")
    await app.close()
    await wait_state(hass, sensor, lambda s: s.state == "0")


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_log_level_from_0x0010(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
) -> None:
    """The 16-bit setting is kept as received, with its bits; the app gets its 0x0011."""
    sensor = entity_id(hass, setup_integration, "sensor", "log_level")
    assert state(hass, sensor).state == "0x0000"
    app = await emulator.app(device.did)

    confirm = await app.set_log_level(0x8103)
    assert isinstance(confirm, LogLevelConfirm)
    # The 0x0011 goes to the sending app's own topic only (protocol.md §4).
    assert [r.topic for r in app.received if isinstance(r.frame, LogLevelConfirm)] == [
        f"dev2app/{device.did}/{app.client_id}"
    ]
    current = await wait_state(hass, sensor, lambda s: s.state == "0x8103")
    assert current.attributes["value"] == 0x8103
    assert current.attributes["set_bits"] == [0, 1, 8, 15]
    assert current.attributes["bits_8_15"] == 0x81
    assert current.attributes["bits_0_7"] == 0x03

    # Shown as the protocol writes it (issue 8.9: not "257").
    await app.set_log_level(0x0101)
    await wait_state(hass, sensor, lambda s: s.state == "0x0101")
    await app.set_log_level(0)
    current = await wait_state(hass, sensor, lambda s: s.state == "0x0000")
    assert current.attributes["set_bits"] == []
