"""Entities write their state only when a coordinator update changes what they show."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from tests.integration.helpers import entity_id, state, wait_state

if TYPE_CHECKING:
    from emulator.server import Emulator
    from tests.integration.helpers import TestDevice


async def test_app_command_rewrites_only_the_entity_it_changes(
    hass: HomeAssistant, emulator: Emulator, device: TestDevice, setup_integration: MockConfigEntry
) -> None:
    """A 0x0093 fires the app-command event; the online-apps sensor is not rewritten."""
    entry = setup_integration
    event = entity_id(hass, entry, "event", "app_command")
    sensor = entity_id(hass, entry, "sensor", "online_apps")
    app = await emulator.app(device.did)
    await wait_state(hass, sensor, lambda s: s.state == "1")
    before = state(hass, sensor)
    reported = before.last_reported
    await app.send_acked(b"\x01\x02")
    await wait_state(hass, event, lambda s: s.attributes.get("payload") == "0102")
    assert state(hass, sensor) is before
    assert before.last_reported == reported


async def test_state_written_elsewhere_is_rewritten_at_the_next_change(
    hass: HomeAssistant, emulator: Emulator, device: TestDevice, setup_integration: MockConfigEntry
) -> None:
    """The device notifies only real changes: a state someone else wrote is corrected by the
    next change of what the entity shows."""
    entry = setup_integration
    sensor = entity_id(hass, entry, "sensor", "online_apps")
    await wait_state(hass, sensor, lambda s: s.state == "0")
    hass.states.async_set(sensor, "bogus")
    app = await emulator.app(device.did)
    await app.send_acked(b"\x03")
    await wait_state(hass, sensor, lambda s: s.state == "1")
    hass.states.async_set(sensor, "bogus")
    # A command reaches only the app-command event entity: the sensor is not told of it.
    event = entity_id(hass, entry, "event", "app_command")
    await app.send_acked(b"\x05")
    await wait_state(hass, event, lambda s: s.attributes.get("payload") == "05")
    assert state(hass, sensor).state == "bogus"
    await emulator.cloud.push_online_apps(device.did, 2)
    await wait_state(hass, sensor, lambda s: s.state == "2")
