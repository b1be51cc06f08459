"""The set-up notification and the *Binding ends* sensor (protocol.md §8: the binding window)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from homeassistant.components import persistent_notification
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gizwits_device import lan_entry, setup_notice
from custom_components.gizwits_device.const import CONF_LAN_ENABLED
from custom_components.gizwits_device.setup_notice import STORAGE_KEY, notification_id

from .helpers import TestDevice, entity_id, state, wait_state
from .lan_helpers import allow_binding


def notifications(hass: HomeAssistant) -> dict[str, Any]:
    """The persistent notifications shown now."""
    return dict(persistent_notification._async_get_or_create_notifications(hass))


def notice(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any] | None:
    found: dict[str, Any] | None = notifications(hass).get(notification_id(entry))
    return found


async def test_next_steps_once_after_the_first_set_up(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    device: TestDevice,
    hass_storage: dict[str, Any],
) -> None:
    """The next steps name the DID and the device page, never the passcode; a reload or a
    restart does not bring them back once dismissed; deleting the entry forgets them."""
    entry = setup_integration
    shown = notice(hass, entry)
    assert shown is not None
    assert device.did in shown["message"]
    assert "/config/devices/device/" in shown["message"]
    assert "Allow app binding" in shown["message"]
    assert device.passcode not in shown["message"]
    assert hass_storage[STORAGE_KEY]["data"] == [entry.entry_id]

    persistent_notification.async_dismiss(hass, notification_id(entry))
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert notice(hass, entry) is None

    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert hass_storage[STORAGE_KEY]["data"] == []


async def test_binding_shows_the_passcode_and_the_end_until_it_closes(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    device: TestDevice,
) -> None:
    """While the window is open the notification shows DID and passcode and *Binding ends*
    its end; when it closes (what its timer calls) both go: the sensor to unknown, the
    notification away."""
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    ends = entity_id(hass, config_entry, "sensor", "binding_ends")
    assert state(hass, ends).state == "unknown"
    assert state(hass, ends).attributes["device_class"] == "timestamp"

    before = dt_util.utcnow().replace(microsecond=0)
    await allow_binding(hass, config_entry)
    shown_end = datetime.fromisoformat(state(hass, ends).state)
    duration = timedelta(seconds=lan_entry.BINDING_DURATION)
    assert before + duration - timedelta(seconds=1) <= shown_end <= dt_util.utcnow() + duration
    shown = notice(hass, config_entry)
    assert shown is not None
    assert device.passcode in shown["message"]
    assert device.did in shown["message"]
    assert dt_util.as_local(shown_end).strftime("%H:%M:%S") in shown["title"]

    config_entry.runtime_data.lan.device.binding.close()
    await wait_state(hass, ends, lambda s: s.state == "unknown")
    assert notice(hass, config_entry) is None


async def test_pressing_again_moves_the_end(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    device: TestDevice,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Re-opening restarts the window (no open/closed change): sensor and notification follow.
    The wall clock is moved a minute on so the new end is unmistakably later."""
    entry = setup_integration
    ends = entity_id(hass, entry, "sensor", "binding_ends")
    await allow_binding(hass, entry)
    first = datetime.fromisoformat(state(hass, ends).state)
    later = dt_util.utcnow() + timedelta(minutes=1)
    monkeypatch.setattr(setup_notice.dt_util, "utcnow", lambda: later)
    await allow_binding(hass, entry)
    await wait_state(hass, ends, lambda s: datetime.fromisoformat(s.state) > first)
    second = datetime.fromisoformat(state(hass, ends).state)
    assert second - first >= timedelta(seconds=55)
    shown = notice(hass, entry)
    assert shown is not None
    assert dt_util.as_local(second).strftime("%H:%M:%S") in shown["title"]


async def test_unloading_while_open_takes_the_passcode_away(
    hass: HomeAssistant, setup_integration: MockConfigEntry, device: TestDevice
) -> None:
    """An entry unloaded (or reloaded) during binding leaves no passcode on screen."""
    await allow_binding(hass, setup_integration)
    assert notice(hass, setup_integration) is not None
    assert await hass.config_entries.async_unload(setup_integration.entry_id)
    await hass.async_block_till_done()
    assert notice(hass, setup_integration) is None


async def test_without_the_local_network_no_binding_entity(
    hass: HomeAssistant, config_entry: MockConfigEntry, device: TestDevice
) -> None:
    """LAN off: no window, so no *Binding ends*; the next steps still appear."""
    hass.config_entries.async_update_entry(config_entry, options={CONF_LAN_ENABLED: False})
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert not any(s.entity_id.endswith("_binding_ends") for s in hass.states.async_all())
    assert notice(hass, config_entry) is not None
