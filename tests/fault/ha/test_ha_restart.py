"""Home Assistant restarted in the middle of an app's command burst and of a firmware download.

The first HA stops the way HA stops (`async_stop`: tasks cancelled, stores written); a second
HA is then started on the same storage and the entry HA had stored is set up again. What the
device is (DID, passcode), what apps set (log level, native point values) and what the user
configured (product, mapping) must all come back; a download cut by the restart leaves no
partial file behind.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from homeassistant import loader
from homeassistant.components.update import DOMAIN as UPDATE_DOMAIN, SERVICE_INSTALL
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_test_home_assistant,
)

from custom_components.gizwits_device.const import (
    CONF_DID,
    CONF_MAPPING,
    CONF_PASSCODE,
    CONF_PRODUCT,
    DOMAIN,
    FIRMWARE_DIR,
)
from custom_components.gizwits_device.protocol import FirmwareType
from emulator import wire
from tests.gservice_servers import scripted_app, serve
from tests.integration.bridge_helpers import PLUG, setup_bridge, setup_helper_entities
from tests.integration.helpers import entity_id, wait_until

from .plug import control_payload

if TYPE_CHECKING:
    from emulator.server import Emulator
    from tests.integration.conftest import TestDevice

# HA's registries start a daily clean-up timer in the second instance.
pytestmark = pytest.mark.parametrize("expected_lingering_timers", [True])

# Only the switch follows an HA entity: countdown stays native (set by apps, stored).
SWITCH_ONLY = {"switch": {"entity_id": "input_boolean.plug", "attribute": None}}
BURST = 300


@contextlib.asynccontextmanager
async def started_again(
    hass: HomeAssistant, hass_storage: dict[str, Any], entry_id: str
) -> AsyncIterator[tuple[HomeAssistant, MockConfigEntry]]:
    """A new HA on the stopped `hass`'s storage, with the entry as HA stored it, set up."""
    entries = hass_storage["core.config_entries"]["data"]["entries"]
    stored = next(e for e in entries if e["entry_id"] == entry_id)
    async with async_test_home_assistant(config_dir=hass.config.config_dir) as second:
        second.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
        await setup_helper_entities(second)
        entry = MockConfigEntry(
            domain=DOMAIN,
            entry_id=entry_id,
            title=stored["title"],
            unique_id=stored["unique_id"],
            data=stored["data"],
            options=stored["options"],
            version=stored["version"],
            minor_version=stored["minor_version"],
        )
        entry.add_to_hass(second)
        assert await second.config_entries.async_setup(entry.entry_id)
        await second.async_block_till_done()
        try:
            yield second, entry
        finally:
            if entry.state is ConfigEntryState.LOADED:
                assert await second.config_entries.async_unload(entry.entry_id)
            await second.async_block_till_done()
            await second.async_stop()


async def test_restart_during_a_command_burst(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    device: TestDevice,
    config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """DID, passcode, log level, native values, product and mapping survive the restart."""
    bridge = await setup_bridge(hass, config_entry, PLUG, SWITCH_ONLY)
    app = await emulator.app(device.did)
    await app.set_log_level(0x0305)
    await wait_until(lambda: config_entry.runtime_data.coordinator.data.log_level == 0x0305)

    sent: dict[int, int] = {}  # sn -> countdown value

    async def burst() -> None:
        for value in range(1, BURST + 1):
            sn = app.next_sn()
            sent[sn] = value
            payload = control_payload(countdown=value, switch=value % 2 == 1)
            await app.send_acked(payload, sn=sn, wait=False)
            await asyncio.sleep(0.005)

    sender = asyncio.create_task(burst())
    try:
        await wait_until(lambda: bridge.device.state.values["countdown"] >= 20)
        await hass.async_stop()
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
    # What the first HA had applied when it stopped, and what apps had been told was done.
    countdown = bridge.device.state.values["countdown"]
    assert 20 <= countdown < BURST, "the restart came in the middle of the burst"
    acked = [sent[r.frame.sn] for r in app.received if isinstance(r.frame, wire.PassthroughAck)]
    assert acked
    assert max(acked) <= countdown, "a command acked before the restart was lost"
    stored = hass_storage[f"{DOMAIN}.{config_entry.entry_id}.bridge"]["data"]["values"]
    assert stored["countdown"] == countdown

    async with started_again(hass, hass_storage, config_entry.entry_id) as (_, entry2):
        assert entry2.data[CONF_DID] == device.did
        assert entry2.data[CONF_PASSCODE] == device.passcode
        assert entry2.options[CONF_PRODUCT] == PLUG
        assert entry2.options[CONF_MAPPING] == SWITCH_ONLY
        runtime = entry2.runtime_data
        assert runtime.coordinator.data.log_level == 0x0305
        assert runtime.bridge is not None
        assert runtime.bridge.device.state.values["countdown"] == countdown
        await wait_until(lambda: runtime.coordinator.connected)
        # Still the same device at the cloud: no new registration.
        assert [d.did for d in emulator.state.devices.values()] == [device.did]


async def _stalled(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    response.content_length = 1 << 20
    await response.prepare(request)
    await response.write(b"\x00" * (300 * 1024))  # past one write batch: a .part file exists
    await asyncio.sleep(3600)
    return response


async def test_restart_during_a_firmware_download(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
    tmp_path: Path,
) -> None:
    """The download in flight when HA stops leaves nothing in the firmware directory."""
    hass.config.config_dir = str(tmp_path)
    entry = setup_integration
    # A test entry is not saved until something changes it; stopping HA saves it, as a flow's
    # entry is saved on creation.
    hass.config_entries._async_schedule_save()
    firmware_dir = tmp_path / FIRMWARE_DIR
    async with serve(scripted_app(_stalled)) as url:
        mcu = entity_id(hass, entry, "update", "mcu_firmware")
        await emulator.cloud.notify_ota(device.did, FirmwareType.MCU, 4242, f"{url}/fw.bin")
        await wait_until(lambda: (s := hass.states.get(mcu)) is not None and s.state == "on")
        install = hass.async_create_task(
            hass.services.async_call(
                UPDATE_DOMAIN, SERVICE_INSTALL, {ATTR_ENTITY_ID: mcu}, blocking=True
            )
        )
        await wait_until(lambda: any(p.suffix == ".part" for p in firmware_dir.rglob("*")))
        await hass.async_stop()
        async with started_again(hass, hass_storage, entry.entry_id) as (_, entry2):
            assert install.done()
            assert not [p for p in firmware_dir.rglob("*") if p.is_file()]
            assert entry2.data[CONF_DID] == device.did
            assert entry2.data[CONF_PASSCODE] == device.passcode
            await wait_until(lambda: entry2.runtime_data.coordinator.connected)
        if not install.cancelled():
            install.exception()
