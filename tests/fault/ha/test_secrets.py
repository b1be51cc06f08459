"""The passcode never shows in logs or diagnostics (secrets are redacted, protocol.md §2).

Everything is logged at DEBUG (every logger, paho and aiohttp included) over a whole life:
set-up, app traffic, a log-level change, a broker restart with GService failing provision,
a login refused after the passcode changed at Gizwits, the repair, the re-authentication that
registers a new passcode, the reload it causes, and diagnostics at the end. No passcode the
device ever had appears anywhere; the DID never appears in the integration's own records,
paho's log of the device's connection included (the emulator's apps log theirs elsewhere).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.gizwits_device.const import CONF_PASSCODE, DOMAIN
from custom_components.gizwits_device.protocol import ConnectionState
from tests.conftest import PRODUCT_KEY
from tests.integration.helpers import MAC, wait_until

if TYPE_CHECKING:
    from emulator.server import Emulator
    from tests.integration.conftest import TestDevice

CHANGED_AT_GIZWITS = "ChangedElsewhere9"
NEW_PASSCODE = "NewSecret77"


async def test_passcode_never_logged_nor_in_diagnostics(
    hass: HomeAssistant,
    *,
    hass_client: ClientSessionGenerator,
    emulator: Emulator,
    device: TestDevice,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("custom_components.gizwits_device", "mqtt", "aiohttp", "homeassistant"):
        caplog.set_level(logging.DEBUG, logger=name)
    entry = config_entry
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    app = await emulator.app(device.did)
    await app.set_log_level(0x0102)
    await app.send_passthrough(b"\x02")
    await app.send_acked(b"\x01\x02", wait=False)
    await app.send_raw(b"not a frame")
    await wait_until(lambda: entry.runtime_data.device.session.stats.frames_dropped >= 1)

    # A broker restart while GService fails provision: failures, retries, recovery.
    emulator.state.inject_fault("provision", "status", count=3, status=503)
    await emulator.broker.stop()
    await emulator.broker.start()
    await wait_until(lambda: entry.runtime_data.device.session.stats.connection_losses == 1)
    await wait_until(lambda: coordinator.connected)

    # The passcode changes at Gizwits (the same product key + MAC registered again): the
    # next login is refused → re-authentication (with HA's own repair).
    emulator.state.register(PRODUCT_KEY, MAC, CHANGED_AT_GIZWITS)
    await emulator.settle()
    await emulator.broker.stop()
    await emulator.broker.start()
    await wait_until(
        lambda: entry.runtime_data.device.session.status.state is ConnectionState.AUTH_FAILED
    )
    await wait_until(lambda: _reauth_flows(hass))
    await hass.async_block_till_done()
    flows = _reauth_flows(hass)
    assert len(flows) == 1
    flow_id = flows[0]["flow_id"]
    # An empty DID: GService registers product key + MAC again with the new passcode.
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_PASSCODE: NEW_PASSCODE})
    assert result["type"] is FlowResultType.ABORT
    await hass.async_block_till_done()
    assert entry.data[CONF_PASSCODE] == NEW_PASSCODE
    assert entry.state is ConfigEntryState.LOADED
    await wait_until(lambda: entry.runtime_data.coordinator.connected)

    diagnostics = json.dumps(await get_diagnostics_for_config_entry(hass, hass_client, entry))

    for secret in (device.passcode, CHANGED_AT_GIZWITS, NEW_PASSCODE):
        assert secret not in caplog.text
        assert secret not in diagnostics
    assert device.did not in diagnostics
    ours = [r for r in caplog.records if r.name.startswith("custom_components.gizwits_device")]
    # DEBUG is captured: the bad frame's drop was logged (with the topic, DID redacted).
    assert any("Dropped a frame" in r.getMessage() for r in ours)
    # Paho's own DEBUG log of the device's connection (CONNECT, SUBSCRIBE, PUBLISH) is ours too.
    assert any(r.name.endswith(".mqtt") and "CONNECT" in r.getMessage() for r in ours)
    for record in ours:
        assert device.did not in record.getMessage(), record.getMessage()


def _reauth_flows(hass: HomeAssistant) -> list[Any]:
    return [
        f
        for f in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if f["context"].get("source") == SOURCE_REAUTH
    ]
