"""Fixtures for fast tests of the HA layer: the session replaced at the library boundary.

Like core's tests patch `peblar.Peblar`, these patch the library's `M2MSession` and
`GServiceClient` where the integration builds them, so a platform test needs neither a broker
nor GService. MQTT itself is tested with the real broker (tests/protocol, tests/integration).

- `mock_session`: a `FakeSessionControl` around the patched `M2MSession` instance: it records
  the listeners and command handler the integration registers and lets a test push frames
  and status changes through them, as the library would.
- `mock_gservice`: the patched `GServiceClient` instance (no firmware offered by default).
- `lan_off_by_default` (autouse): the local network (LAN side) is off unless an entry's options
  turn it on: these tests open no sockets (tests/integration covers the LAN side).
- `config_entry`: a MockConfigEntry, added to hass, not set up.
- `init_integration`: `config_entry` set up (LOADED) on the fake session.
"""

from __future__ import annotations

from collections.abc import Iterator
from unittest.mock import AsyncMock, MagicMock, patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gizwits_device import lan_entry
from custom_components.gizwits_device.const import (
    CONF_BASE_URL,
    CONF_DID,
    CONF_MAC,
    CONF_MCU_HARD_VERSION,
    CONF_MCU_SOFT_VERSION,
    CONF_PASSCODE,
    CONF_PRODUCT_KEY,
    CONF_WIFI_HARD_VERSION,
    CONF_WIFI_SOFT_VERSION,
    DEFAULT_HARD_VERSION,
    DEFAULT_SOFT_VERSION,
    DOMAIN,
    ENTRY_MINOR_VERSION,
)
from custom_components.gizwits_device.protocol import ConnectionState, ConnectionStatus, DeviceLog
from custom_components.gizwits_device.protocol.commands import CommandRunner
from custom_components.gizwits_device.protocol.session_state import SessionStats

from .fake_session import DID, MAC, PRODUCT_KEY, FakeSessionControl, registrar


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let HA load the integration from custom_components/."""


@pytest.fixture(autouse=True)
def lan_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """No LAN service (no sockets) unless a test's options turn the local network on."""
    monkeypatch.setattr(lan_entry, "DEFAULT_LAN_ENABLED", False)


@pytest.fixture
def mock_gservice() -> Iterator[MagicMock]:
    """GServiceClient as the coordinator and removal build it; no firmware is offered."""
    with (
        patch("custom_components.gizwits_device.endpoint.GServiceClient", autospec=True) as cls,
        patch("custom_components.gizwits_device.GServiceClient", new=cls),
        patch("custom_components.gizwits_device.config_flow.GServiceClient", new=cls),
    ):
        gservice = cls.return_value
        gservice.ota_update_and_check.return_value = None
        gservice.ota_target_fid.return_value = None
        gservice.register.return_value = DID
        yield gservice


@pytest.fixture
def mock_session(mock_gservice: MagicMock) -> Iterator[FakeSessionControl]:
    """M2MSession as the coordinator builds it: logged in at once, runs until cancelled."""
    with patch("custom_components.gizwits_device.endpoint.M2MSession", autospec=True) as cls:
        session = cls.return_value
        control = FakeSessionControl(session)
        session.status = ConnectionStatus(ConnectionState.CONNECTED)
        session.connected = True
        session.stats = SessionStats()
        # The real runner: the coordinator listens to it for the app-command event.
        session.commands = CommandRunner()
        session.add_frame_listener.side_effect = registrar(control.frame_listeners)
        session.add_status_listener.side_effect = registrar(control.status_listeners)
        session.set_command_handler.side_effect = registrar(control.command_handlers)
        session.run = AsyncMock(return_value=None)
        session.connect.side_effect = control.connect
        session.send_log.side_effect = DeviceLog  # the frame as sent
        # Like a client that cannot write at once: every report is the awaited send_passthrough.
        session.send_passthrough_nowait.return_value = False
        yield control


@pytest.fixture
def config_entry(hass: HomeAssistant) -> MockConfigEntry:
    """A config entry for the fake device, added to hass, not set up."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Gizwits device",
        minor_version=ENTRY_MINOR_VERSION,
        unique_id=f"{PRODUCT_KEY}_{MAC}",
        data={
            CONF_BASE_URL: "http://127.0.0.1:1",
            CONF_PRODUCT_KEY: PRODUCT_KEY,
            CONF_MAC: MAC,
            CONF_PASSCODE: "Passcode42",
            CONF_DID: DID,
            CONF_WIFI_HARD_VERSION: DEFAULT_HARD_VERSION,
            CONF_WIFI_SOFT_VERSION: DEFAULT_SOFT_VERSION,
            CONF_MCU_HARD_VERSION: DEFAULT_HARD_VERSION,
            CONF_MCU_SOFT_VERSION: DEFAULT_SOFT_VERSION,
        },
    )
    entry.add_to_hass(hass)
    return entry


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, config_entry: MockConfigEntry, mock_session: FakeSessionControl
) -> MockConfigEntry:
    """`config_entry` set up on the fake session."""
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED
    return config_entry
