"""Diagnostics: secrets redacted, connection counters and state present (snapshot)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.matchers import path_type

from custom_components.gizwits_device.const import (
    CONF_LAN_ENABLED,
    CONF_LOG_FORWARD_LEVEL,
    CONF_LOG_FORWARD_LOGGERS,
    DOMAIN,
)
from custom_components.gizwits_device.protocol import FirmwareType

from .helpers import MAC, PASSCODE, TestDevice, wait_until

if TYPE_CHECKING:
    from emulator.server import Emulator

# Ports differ per run; heartbeats can be missed on a loaded machine.
VOLATILE = path_type(
    {
        "entry.data.base_url": (str,),
        "connection.endpoint.port": (int,),
        "connection.stats.heartbeat_losses": (int,),
        "local_network.service.tcp.port": (int,),
        "local_network.service.udp.port": (int,),
    }
)


async def test_diagnostics(
    hass: HomeAssistant,
    *,
    hass_client: ClientSessionGenerator,
    emulator: Emulator,
    device: TestDevice,
    config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    snapshot: SnapshotAssertion,
) -> None:
    """A loaded entry with an app, a log level, a firmware fid and log forwarding."""
    hass_storage[f"{DOMAIN}.{config_entry.entry_id}"] = {
        "version": 1,
        "key": f"{DOMAIN}.{config_entry.entry_id}",
        "data": {"log_level": 0, "current_fid": {"2": 1234}},
    }
    hass.config_entries.async_update_entry(
        config_entry,
        options={CONF_LOG_FORWARD_LOGGERS: ["custom.test"], CONF_LOG_FORWARD_LEVEL: "warning"},
    )
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    coordinator = config_entry.runtime_data.coordinator
    await wait_until(lambda: coordinator.data.online_apps == 0)  # the login's 0x020F answered
    app = await emulator.app(device.did)
    await wait_until(lambda: coordinator.data.online_apps == 1)
    await app.set_log_level(0x0100)
    await emulator.cloud.push_online_apps(device.did, 2)
    await wait_until(lambda: coordinator.data.online_apps == 2)
    await wait_until(
        lambda: (
            coordinator.device.firmware._task is not None
            and coordinator.device.firmware._task.done()
        )
    )
    assert coordinator.data.firmware.offers == {}

    result = await get_diagnostics_for_config_entry(hass, hass_client, config_entry)

    text = json.dumps(result)
    for secret in (device.did, PASSCODE, MAC, MAC.lower()):
        assert secret not in text
    assert result["entry"]["data"]["did"] == "**REDACTED**"
    assert result["entry"]["data"]["passcode"] == "**REDACTED**"
    assert result["entry"]["data"]["mac"] == "**REDACTED**"
    stats = result["connection"]["stats"]
    assert stats["connects"] == 1
    assert stats["frames_received"] == 4  # 0x0210 three times, 0x0010
    assert stats["frames_sent"] == 2  # 0x020F, 0x0011
    assert result["log_forwarding"] == {"loggers": ["custom.test"], "forwarded": 0, "dropped": 0}
    assert result == snapshot(matcher=VOLATILE)


async def test_diagnostics_with_offers(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
    hass_client: ClientSessionGenerator,
) -> None:
    """Firmware offers from both OTA paths are listed by firmware type."""
    coordinator = setup_integration.runtime_data.coordinator
    await wait_until(
        lambda: (
            coordinator.device.firmware._task is not None
            and coordinator.device.firmware._task.done()
        )
    )
    url = f"{emulator.gservice_url}/dev/ota/download/55"
    await emulator.cloud.notify_ota(device.did, FirmwareType.WIFI, 55, url)
    await wait_until(lambda: FirmwareType.WIFI in coordinator.data.firmware.offers)

    result = await get_diagnostics_for_config_entry(hass, hass_client, setup_integration)
    assert result["firmware_offers"] == {"wifi": {"version": "fid 55", "target_fid": 55}}
    assert url not in json.dumps(result)


async def test_diagnostics_with_lan_off(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    hass_client: ClientSessionGenerator,
) -> None:
    """LAN turned off in the options: no local network section, the rest as usual."""
    hass.config_entries.async_update_entry(config_entry, options={CONF_LAN_ENABLED: False})
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()

    result = await get_diagnostics_for_config_entry(hass, hass_client, config_entry)
    assert result["local_network"] is None
    assert result["connection"]["stats"]["connects"] == 1
