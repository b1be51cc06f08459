"""What the session pushes reaches the entities, on the fake session (no broker).

The session's own behaviour (login, heartbeat, backoff) is tested against the real broker in
tests/protocol; here the library's status and frames are given, and the HA side is checked.
"""

from __future__ import annotations

from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gizwits_device.const import (
    CONF_INDICATOR_BIT,
    DOMAIN,
    UNREACHABLE_REPAIR_AFTER,
)
from custom_components.gizwits_device.protocol import (
    AckedPassthrough,
    AppPassthrough,
    ConnectionState,
    OnlineAppCount,
    SetLogLevel,
)

from .fake_session import APP, FakeSessionControl


def _entity(hass: HomeAssistant, entry: MockConfigEntry, platform: str, key: str) -> str:
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{entry.unique_id}_{key}")
    assert found is not None
    return found


def _state(hass: HomeAssistant, entity_id: str) -> str:
    current = hass.states.get(entity_id)
    assert current is not None
    return current.state


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_status_reaches_connectivity_and_connection_state(
    hass: HomeAssistant, init_integration: MockConfigEntry, mock_session: FakeSessionControl
) -> None:
    """Down: connectivity off, details on the connection state sensor, the rest unavailable."""
    entry = init_integration
    connectivity = _entity(hass, entry, "binary_sensor", "connectivity")
    connection = _entity(hass, entry, "sensor", "connection_state")
    online_apps = _entity(hass, entry, "sensor", "online_apps")

    mock_session.push_status(
        ConnectionState.WAITING, failures=2, retry_in=10.0, last_error="refused by broker"
    )
    await hass.async_block_till_done()
    assert _state(hass, connectivity) == "off"
    details = hass.states.get(connection)
    assert details is not None
    assert details.state == "waiting"
    assert details.attributes["failed_attempts"] == 2
    assert details.attributes["retry_in"] == 10.0
    assert details.attributes["last_error"] == "refused by broker"
    # They change with every attempt: kept out of the recorder.
    assert details.state_info is not None
    assert {"failed_attempts", "retry_in", "last_error"} <= details.state_info[
        "unrecorded_attributes"
    ]
    assert _state(hass, online_apps) == STATE_UNAVAILABLE

    mock_session.push_status(ConnectionState.CONNECTED)
    await hass.async_block_till_done()
    assert _state(hass, connectivity) == "on"
    assert _state(hass, connection) == "connected"
    assert _state(hass, online_apps) != STATE_UNAVAILABLE


async def test_unreachable_repair_after_thirty_minutes(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    mock_session: FakeSessionControl,
    issue_registry: ir.IssueRegistry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Down for UNREACHABLE_REPAIR_AFTER → a warning repair; the next login deletes it."""
    issue_id = f"unreachable_{init_integration.entry_id}"
    mock_session.push_status(ConnectionState.CONNECTING, failures=1)
    freezer.tick(timedelta(seconds=UNREACHABLE_REPAIR_AFTER - 1))
    mock_session.push_status(ConnectionState.WAITING, failures=1, last_error="timed out")
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None

    freezer.tick(timedelta(seconds=1))
    mock_session.push_status(ConnectionState.CONNECTING, failures=2, last_error="timed out")
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.translation_placeholders == {
        "title": init_integration.title,
        "error": "timed out",
    }

    mock_session.push_status(ConnectionState.CONNECTED)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_log_level_drives_logs_enabled_and_the_indicator(
    hass: HomeAssistant, init_integration: MockConfigEntry, mock_session: FakeSessionControl
) -> None:
    """protocol.md §4: any non-zero 0x0010 enables logs; the indicator is the chosen bit."""
    entry = init_integration
    logs_enabled = _entity(hass, entry, "binary_sensor", "logs_enabled")
    indicator = _entity(hass, entry, "binary_sensor", "indicator")

    mock_session.push_frame(SetLogLevel(0x0001))
    await hass.async_block_till_done()
    assert (_state(hass, logs_enabled), _state(hass, indicator)) == ("on", "off")

    mock_session.push_frame(SetLogLevel(0x0100))
    await hass.async_block_till_done()
    assert _state(hass, indicator) == "on"

    # Another bit applies at once, without a reload.
    coordinator = entry.runtime_data.coordinator
    hass.config_entries.async_update_entry(entry, options={CONF_INDICATOR_BIT: 9})
    await hass.async_block_till_done()
    assert _state(hass, indicator) == "off"
    assert entry.runtime_data.coordinator is coordinator


async def test_app_commands_fire_the_event_entity(
    hass: HomeAssistant, init_integration: MockConfigEntry, mock_session: FakeSessionControl
) -> None:
    """Each passthrough fires once; other frames fire nothing."""
    event = _entity(hass, init_integration, "event", "app_command")
    assert _state(hass, event) == "unknown"

    mock_session.push_frame(AppPassthrough(b"\x01\x02\xff"))
    await hass.async_block_till_done()
    fired = hass.states.get(event)
    assert fired is not None
    assert fired.attributes["event_type"] == "passthrough"
    assert fired.attributes["payload"] == "0102ff"
    assert fired.attributes["payload_base64"] == "AQL/"
    assert fired.attributes["app_client_id"] == APP
    assert fired.attributes["source"] == "cloud"
    first = fired.state

    mock_session.push_frame(OnlineAppCount(3))
    await hass.async_block_till_done()
    assert _state(hass, event) == first

    mock_session.push_frame(AckedPassthrough(7, b"\x10"), acked=True)
    await hass.async_block_till_done()
    acked = hass.states.get(event)
    assert acked is not None
    assert acked.attributes["event_type"] == "acked_passthrough"
    assert (acked.attributes["sn"], acked.attributes["acked"]) == (7, True)
