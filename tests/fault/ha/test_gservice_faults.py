"""GService down, slow, failing (5xx) or answering garbage (protocol.md §2.3, §2.4, §7).

The integration talks to GService through a loopback proxy, so "down" is a real refused
connection; "slow" is a request GService never answers (past the client's timeout); 5xx and
garbage are the emulator's injected faults. At set-up HA must retry (ConfigEntryNotReady) and
load once GService is back; while loaded, a GService outage at the provision before a
reconnect keeps the entry loaded and retrying, raises the repair only when it lasts 30 min
(time travel), and clears it on recovery; an OTA check against a broken GService keeps what
was known. Nothing stored (entry data, the Store) is ever lost.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
import copy
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

import custom_components.gizwits_device as integration
from custom_components.gizwits_device import endpoint as endpoint_module
from custom_components.gizwits_device.const import (
    CONF_BASE_URL,
    DOMAIN,
    UNREACHABLE_REPAIR_AFTER,
)
from custom_components.gizwits_device.protocol import ConnectionState, FirmwareType
from emulator.state import FirmwareOffer as EmulatorOffer
from tests.conftest import PRODUCT_KEY
from tests.fault.proxy import TcpProxy
from tests.integration.helpers import wait_until

if TYPE_CHECKING:
    from emulator.server import Emulator
    from tests.integration.conftest import TestDevice

KINDS = ["down", "slow", "5xx", "garbage"]
FOREVER = 1_000_000
NEW_VERSION = "00000002"


class GService:
    """Breaks and mends the emulator's GService the way `kind` says."""

    def __init__(self, emulator: Emulator, proxy: TcpProxy) -> None:
        self.emulator = emulator
        self.proxy = proxy

    async def breaks(self, kind: str, *endpoints: str) -> None:
        if kind == "down":
            await self.proxy.stop()
            return
        fault = {"slow": "hang", "5xx": "status", "garbage": "garbage"}[kind]
        for endpoint in endpoints:
            self.emulator.state.inject_fault(endpoint, fault, count=FOREVER, status=503)  # type: ignore[arg-type]

    async def mends(self) -> None:
        self.emulator.state.clear_faults()
        await self.proxy.start()

    def requests(self, endpoint: str) -> int:
        """How many requests hit a faulted endpoint so far (faults count their uses)."""
        return sum(FOREVER - f.count for f in self.emulator.state.faults.get(endpoint, []))


@pytest.fixture(autouse=True)
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A set-up gives up after 1 s; a GService request after 0.5 s ("slow" = too slow)."""
    monkeypatch.setattr(integration, "CONNECT_TIMEOUT", 1.0)
    monkeypatch.setattr(endpoint_module, "GSERVICE_TIMEOUT", 0.5)


@pytest.fixture
async def gservice(emulator: Emulator) -> AsyncIterator[GService]:
    async with TcpProxy(emulator.http_port) as proxy:
        yield GService(emulator, proxy)


@pytest.fixture
def entry(
    hass: HomeAssistant, config_entry: MockConfigEntry, gservice: GService
) -> MockConfigEntry:
    """The config entry, configured with the proxy's GService URL."""
    hass.config_entries.async_update_entry(
        config_entry, data={**config_entry.data, CONF_BASE_URL: gservice.proxy.url}
    )
    return config_entry


def _stored(hass_storage: dict[str, Any], entry: MockConfigEntry) -> Any:
    return copy.deepcopy(hass_storage.get(f"{DOMAIN}.{entry.entry_id}"))


@pytest.mark.parametrize("kind", KINDS)
async def test_setup_retries_until_gservice_is_back(
    hass: HomeAssistant, entry: MockConfigEntry, gservice: GService, kind: str
) -> None:
    """Provision fails at set-up → SETUP_RETRY (ConfigEntryNotReady), again at HA's retry;
    once GService is back the next retry loads the entry with its data untouched."""
    data = dict(entry.data)
    await gservice.breaks(kind, "provision")
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY
    if kind != "down":
        assert gservice.requests("provision") >= 1
    attempts = gservice.requests("provision")

    # HA retries on its own schedule: still failing, still waiting.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=10))
    await wait_until(
        lambda: (
            entry.state is ConfigEntryState.SETUP_IN_PROGRESS
            or (kind != "down" and gservice.requests("provision") > attempts)
        )
    )
    await wait_until(lambda: entry.state is ConfigEntryState.SETUP_RETRY)

    await gservice.mends()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(hours=2))
    await wait_until(lambda: entry.state is ConfigEntryState.LOADED)
    await hass.async_block_till_done()
    await wait_until(lambda: entry.runtime_data.coordinator.connected)
    assert data.items() <= entry.data.items()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.freeze_time(tick=True)
async def test_provision_outage_while_loaded_raises_repair_after_30_min(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    device: TestDevice,
    entry: MockConfigEntry,
    gservice: GService,
    issue_registry: ir.IssueRegistry,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    kind: str,
) -> None:
    """The broker drops the device and GService fails every provision: the entry stays
    loaded and keeps retrying; no repair before 30 min, one after; gone on recovery."""
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    app = await emulator.app(device.did)
    await app.set_log_level(0x0203)
    await wait_until(lambda: entry.runtime_data.coordinator.data.log_level == 0x0203)
    await hass.async_block_till_done()
    data, stored = dict(entry.data), _stored(hass_storage, entry)
    session = entry.runtime_data.device.session
    issue_id = f"unreachable_{entry.entry_id}"

    await gservice.breaks(kind, "provision")
    await emulator.broker.stop()
    await emulator.broker.start()
    await wait_until(lambda: session.status.failures >= 3)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    assert entry.state is ConfigEntryState.LOADED

    freezer.tick(timedelta(seconds=UNREACHABLE_REPAIR_AFTER + 60))
    await wait_until(lambda: issue_registry.async_get_issue(DOMAIN, issue_id) is not None)
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.WARNING
    assert session.status.state is not ConnectionState.AUTH_FAILED

    await gservice.mends()
    await wait_until(lambda: session.connected)
    await wait_until(lambda: issue_registry.async_get_issue(DOMAIN, issue_id) is None)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert data.items() <= entry.data.items()
    assert _stored(hass_storage, entry) == stored
    assert entry.runtime_data.coordinator.data.log_level == 0x0203


@pytest.mark.parametrize("kind", KINDS)
async def test_ota_check_against_broken_gservice_keeps_what_was_known(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    device: TestDevice,
    entry: MockConfigEntry,
    gservice: GService,
    hass_storage: dict[str, Any],
    kind: str,
) -> None:
    """A 0x0211 while both OTA endpoints fail: the offer already shown stays, the session
    and the stored data are untouched; once GService is back the next check works."""
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    emulator.state.set_offer(
        EmulatorOffer(firmware_type=1, soft_version=NEW_VERSION, data=b"wifi image"),
        product_key=PRODUCT_KEY,
    )
    await emulator.cloud.notify_ota_check(device.did, FirmwareType.WIFI)
    await wait_until(lambda: FirmwareType.WIFI in coordinator.data.firmware.offers)
    await hass.async_block_till_done()
    offers = dict(coordinator.data.firmware.offers)
    data, stored = dict(entry.data), _stored(hass_storage, entry)

    await gservice.breaks(kind, "ota_update_and_check", "ota_target_fid")
    emulator.state.clear_offers()
    await _checked(emulator, device, coordinator)
    if kind != "down":
        assert gservice.requests("ota_update_and_check") >= 1
    assert coordinator.data.firmware.offers == offers
    assert coordinator.connected

    await gservice.mends()
    await _checked(emulator, device, coordinator)
    # The offer was withdrawn meanwhile: a working check now says so.
    await wait_until(lambda: FirmwareType.WIFI not in coordinator.data.firmware.offers)
    await hass.async_block_till_done()
    assert data.items() <= entry.data.items()
    assert _stored(hass_storage, entry) == stored


async def _checked(emulator: Emulator, device: TestDevice, coordinator: Any) -> None:
    """Push a 0x0211 and wait until the OTA check it starts has finished."""
    previous = coordinator.device.firmware._task
    await emulator.cloud.notify_ota_check(device.did, FirmwareType.WIFI)
    await wait_until(
        lambda: (task := coordinator.device.firmware._task) is not previous and task.done()
    )
