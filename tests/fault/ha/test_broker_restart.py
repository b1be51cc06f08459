"""The M2M broker killed and restarted while an app's commands flow (protocol.md §2.8, §4, §5).

Home Assistant runs the integration with the smart plug bridged to HA helpers; an emulator app
keeps sending acked P0 controls (0x0093), each a fresh countdown value, re-sending the same sn
until it is acked as a real app does. The broker is stopped (every socket drops) and started
again on the same port, over and over; while it is down GService also answers 503, so the
device's reconnect waits until the app is back and the full report reaching the app can be
checked. Size: `fault_size.broker_restarts` (5 by default, 50 with `-m heavy`).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import aiomqtt
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gizwits_device.protocol import (
    ConnectionState,
    ConnectionStatus,
    M2MSession,
)
from emulator.app import AppSimulator
from emulator.mqtt import LinkError
from tests.fault.checks import ResourceCount, ServiceCallCounter, check_backoff
from tests.integration.bridge_helpers import PLUG, PLUG_MAPPING, setup_bridge
from tests.integration.conftest import FAST_TIMING
from tests.integration.helpers import wait_until

from .plug import control_payload, ha_plug_values, reports_since, status_report

if TYPE_CHECKING:
    from emulator.server import Emulator
    from tests.fault.conftest import FaultSize
    from tests.integration.conftest import TestDevice

# Values the countdown point can take (0..1440): one per command, never reused.
COMMAND_VALUES = range(1, 1441)
# Pause between two commands: commands keep flowing without flooding a 2-core machine.
COMMAND_GAP = 0.03
ACK_WAIT = 1.0
COMMANDS_PER_CONNECTION = 3


class Commander:
    """An app sending acked controls back to back; a lost ack means the same sn again (§4)."""

    def __init__(self, app: AppSimulator) -> None:
        self.app = app
        self.acked: list[int] = []
        self.resends = 0
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        for value in COMMAND_VALUES:
            if self._stop.is_set():
                return
            sn = self.app.next_sn()
            payload = control_payload(countdown=value)
            while True:
                try:
                    await self.app.send_acked(payload, sn=sn, timeout=ACK_WAIT)
                    break
                except TimeoutError, LinkError, aiomqtt.MqttError:
                    # No ack, or the app's own link was down: same sn again.
                    self.resends += 1
            self.acked.append(value)
            await asyncio.sleep(COMMAND_GAP)

    async def stop(self) -> None:
        """Let the command in flight be acked, then stop."""
        self._stop.set()
        async with asyncio.timeout(30):
            await self._task


@pytest.fixture
async def plug_entry(hass: HomeAssistant, config_entry: MockConfigEntry) -> MockConfigEntry:
    """The plug bridged to HA helpers, set up and logged in."""
    await setup_bridge(hass, config_entry, PLUG, PLUG_MAPPING)
    return config_entry


async def _restart_broker(emulator: Emulator, session: M2MSession, app: AppSimulator) -> int:
    """Kill the broker, let the device fail twice, bring it back; return the app's mark."""
    emulator.state.inject_fault("provision", "status", count=1_000_000, status=503)
    app_connects = app.link.connect_count
    await emulator.broker.stop()
    # Two failed attempts in a row: the backoff's growth is exercised every time.
    await wait_until(lambda: session.status.failures >= 2)
    await emulator.broker.start()
    await wait_until(lambda: app.link.connect_count > app_connects and app.link.connected)
    await wait_until(lambda: emulator.cloud.link.connected)
    mark = len(app.received)
    emulator.state.clear_faults()
    return mark


@pytest.mark.heavy
@pytest.mark.timeout(900)
async def test_broker_restarts_while_commands_flow(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    plug_entry: MockConfigEntry,
    fault_size: FaultSize,
) -> None:
    """Every restart: back with the §2.8 backoff, a full report of the current state to the
    app, no leaked task/socket/fd; no acked command applied twice, none lost."""
    session = plug_entry.runtime_data.device.session
    app = await emulator.app(device.did)
    # The bind (online apps 0 -> 1) brings a first full report.
    await wait_until(lambda: any(status_report(r) for r in app.received))

    assert session.connected
    statuses: list[ConnectionStatus] = [session.status]
    at_connect: list[dict[str, Any]] = []

    def record(status: ConnectionStatus) -> None:
        statuses.append(status)
        if status.state is ConnectionState.CONNECTED:
            # What HA shows at the moment of the login: the report must say exactly that.
            at_connect.append(ha_plug_values(hass))

    remove_listener = session.add_status_listener(record)
    applied = ServiceCallCounter(hass, "input_number", "set_value", "value")
    await hass.async_block_till_done()
    before = ResourceCount.now(emulator.broker.port)
    connects_before = session.stats.connects

    commander = Commander(app)
    try:
        for restart in range(fault_size.broker_restarts):
            # Let a few commands through on this connection first.
            acked = len(commander.acked)
            await wait_until(lambda n=acked: len(commander.acked) >= n + COMMANDS_PER_CONNECTION)
            mark = await _restart_broker(emulator, session, app)
            await wait_until(lambda n=restart: len(at_connect) > n)
            report = await _first_report(app, mark)
            expected = at_connect[restart]
            assert {k: report[k] for k in expected} == expected
    finally:
        await commander.stop()
        remove_listener()
    await hass.async_block_till_done()

    assert session.stats.connects - connects_before == fault_size.broker_restarts
    assert check_backoff(statuses, FAST_TIMING) == fault_size.broker_restarts
    # No acked command lost or applied twice, even those re-sent after a lost ack (§4).
    assert commander.acked
    for value in commander.acked:
        assert applied.counts[value] == 1, (value, applied.counts[value])
    assert max(applied.counts.values()) == 1
    assert ha_plug_values(hass)["countdown"] == commander.acked[-1]

    await _assert_no_leak(hass, emulator, before)
    applied.remove()


async def _first_report(app: AppSimulator, mark: int) -> dict[str, Any]:
    async with asyncio.timeout(20):
        while not (found := reports_since(app, mark)):
            await asyncio.sleep(0.02)
    return found[0]


async def _assert_no_leak(hass: HomeAssistant, emulator: Emulator, before: ResourceCount) -> None:
    """Same broker connections (device, app, cloud agent); tasks and fds back to the start.

    A leak per reconnect would add one per restart; a small slack covers HA's own pools.
    """
    after = ResourceCount.now(emulator.broker.port)
    with contextlib.suppress(TimeoutError):
        await wait_until(
            lambda: (
                (now := ResourceCount.now(emulator.broker.port)).tasks <= before.tasks
                and now.fds <= before.fds
            ),
            timeout=5,
        )
    await hass.async_block_till_done()
    after = ResourceCount.now(emulator.broker.port)
    assert after.broker_connections == before.broker_connections == 3
    assert after.tasks <= before.tasks + 2, (before, after)
    assert after.fds <= before.fds + 2, (before, after)
