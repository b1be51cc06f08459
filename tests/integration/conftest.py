"""Fixtures for the Home Assistant side: fast session timings and a ready config entry.

Every test here runs against the real emulator (GService HTTP + mosquitto, see tests/conftest.py);
nothing about MQTT is mocked. Fixtures:

- `auto_enable_custom_integrations` (autouse): lets HA load `custom_components/gizwits_device`.
- `fast_timing` (autouse): yields the short `SessionTiming` installed as
  `endpoint.SESSION_TIMING`; CONNECT_TIMEOUT (set-up and config flow) becomes `CONNECT_TIMEOUT`
  below and the config flow's GService request timeout `GSERVICE_TIMEOUT`.
- `device` : a `TestDevice` (did, passcode, product key, MAC) registered in the emulator, the
  broker already knowing it.
- `unload_entries`: at teardown, unloads every loaded gizwits_device entry (also ones a config
  flow created or a reload set up) before the emulator stops; use it in tests that create
  entries through a flow.
- `auto_lan_loopback` (autouse): `lan_loopback` (tests/conftest.py), the LAN service on
  loopback only: free TCP/UDP ports, discovery bound to 127.0.0.1, and Home Assistant's
  network settings with two loopback adapters, "lo" (127.0.0.1/8, enabled) and "lo2"
  (127.0.0.2/8); no start-up broadcast (a test that wants one sets a count and its own port:
  they go to 127.255.255.255).
- `config_entry`: a `MockConfigEntry` for `device`, added to hass but NOT set up (uses
  `unload_entries`, so whatever sets it up, no session outlives the emulator).
- `setup_integration`: `config_entry` set up and LOADED (the M2M session is logged in).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

import custom_components.gizwits_device as integration
from custom_components.gizwits_device import config_flow, endpoint, lan
from custom_components.gizwits_device.bridge import GizwitsBridge
from custom_components.gizwits_device.const import (
    DOMAIN,
    ENTRY_MINOR_VERSION,
)
from custom_components.gizwits_device.protocol import SessionTiming
from emulator.p0 import DataPointCodec
from tests.conftest import PRODUCT_KEY
from tests.integration.bridge_helpers import (
    LIGHT,
    LIGHT_MAPPING,
    PLUG,
    PLUG_MAPPING,
    P0App,
    setup_bridge,
)
from tests.integration.helpers import MAC, PASSCODE, TestDevice, entry_data

if TYPE_CHECKING:
    from emulator.server import Emulator

# Seconds; short so failing logins end tests quickly, long enough for a loaded CI machine.
CONNECT_TIMEOUT = 5.0
GSERVICE_TIMEOUT = 2.0

# Keepalive 2 s: a loaded machine that stalls the loop for < 2 s must not look like a lost link.
FAST_TIMING = SessionTiming(
    keepalive=2,
    backoff_step=0.05,
    backoff_cap=0.5,
    connect_timeout=2.0,
    ack_retry_interval=0.2,
    ack_retries=3,
    dedup_window=10.0,
    reconnect_jitter=0.1,
)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let HA load the integration from custom_components/."""


@pytest.fixture(autouse=True)
def fast_timing(monkeypatch: pytest.MonkeyPatch) -> SessionTiming:
    """Short session intervals and connect/request timeouts for every HA test."""
    monkeypatch.setattr(endpoint, "SESSION_TIMING", FAST_TIMING)
    # CONNECT_TIMEOUT is imported by value: patch it where it is used.
    for module in (integration, config_flow):
        monkeypatch.setattr(module, "CONNECT_TIMEOUT", CONNECT_TIMEOUT)
    monkeypatch.setattr(config_flow, "GSERVICE_TIMEOUT", GSERVICE_TIMEOUT)
    return FAST_TIMING


@pytest.fixture(autouse=True)
def auto_lan_loopback(lan_loopback: lan.LanPorts) -> lan.LanPorts:
    """Every HA test here runs the LAN service on loopback (see tests/conftest.py)."""
    return lan_loopback


@pytest.fixture
async def device(emulator: Emulator) -> TestDevice:
    """PRODUCT_KEY / MAC registered in the emulator with PASSCODE; the broker knows the DID."""
    registered = emulator.state.register(PRODUCT_KEY, MAC, PASSCODE)
    await emulator.settle()
    return TestDevice(registered.did, PASSCODE, PRODUCT_KEY, MAC)


@pytest.fixture
async def unload_entries(hass: HomeAssistant, emulator: Emulator) -> AsyncIterator[None]:
    """Unload every loaded entry of the integration at teardown, before the emulator stops."""
    yield
    await hass.async_block_till_done()
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.state is ConfigEntryState.LOADED:
            assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.fixture
async def config_entry(
    hass: HomeAssistant, emulator: Emulator, device: TestDevice, unload_entries: None
) -> MockConfigEntry:
    """A config entry for `device`, added to hass, not set up."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Gizwits device",
        minor_version=ENTRY_MINOR_VERSION,
        unique_id=f"{device.product_key}_{device.mac}",
        data=entry_data(emulator, device),
    )
    entry.add_to_hass(hass)
    return entry


@pytest.fixture
async def setup_integration(hass: HomeAssistant, config_entry: MockConfigEntry) -> MockConfigEntry:
    """`config_entry`, set up and logged in to the emulator's M2M broker."""
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED
    return config_entry


@pytest.fixture
async def plug(
    hass: HomeAssistant, config_entry: MockConfigEntry, emulator: Emulator, device: TestDevice
) -> AsyncIterator[tuple[GizwitsBridge, P0App]]:
    """Smart plug (standard P0): switch/countdown/power mapped; energy, overload native."""
    bridge = await setup_bridge(hass, config_entry, PLUG, PLUG_MAPPING)
    app = P0App(await emulator.app(device.did), DataPointCodec.from_definition(PLUG))
    # protocol.md §5 (MCU SDK): online apps 0 -> 1 brings a full report.
    await app.report()
    yield bridge, app
    await app.app.close()


@pytest.fixture
async def light(
    hass: HomeAssistant, config_entry: MockConfigEntry, emulator: Emulator, device: TestDevice
) -> AsyncIterator[tuple[GizwitsBridge, P0App]]:
    """Dimmable light (var_len P0): on/off + brightness on a template light, mode on a select."""
    bridge = await setup_bridge(hass, config_entry, LIGHT, LIGHT_MAPPING)
    app = P0App(await emulator.app(device.did), DataPointCodec.from_definition(LIGHT))
    await app.report()
    yield bridge, app
    await app.app.close()
