"""Hostile input against a bridged device in Home Assistant (protocol.md §5, §6).

Two layers: broken frames on every inbound topic (the session drops them), and well-formed
0x0090 frames whose P0 payload is hostile (truncated controls, unknown flag bits, values out
of range, unknown actions). Nothing may change: not the mapped HA entities, not the native
values, not the log level or any entity of the integration, not what is stored. Every one is
counted; the log is not flooded (a hostile app must not be able to fill HA's log or memory
with warnings). Size: `fault_size.ha_hostile_frames` (400 by default, 10,000 with -m heavy).
"""

from __future__ import annotations

import copy
from dataclasses import replace
import logging
import secrets
from typing import TYPE_CHECKING, Any

import aiomqtt
from homeassistant.core import HomeAssistant
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gizwits_device import endpoint as endpoint_module
from custom_components.gizwits_device.const import DOMAIN
from custom_components.gizwits_device.protocol.frame_codec import encode_frame
from custom_components.gizwits_device.protocol.frames import AppPassthrough
from tests.conftest import PRODUCT_KEY
from tests.fault.hostile import Where, hostile_messages
from tests.integration.bridge_helpers import PLUG, PLUG_MAPPING, setup_bridge
from tests.integration.conftest import FAST_TIMING
from tests.integration.helpers import wait_until

if TYPE_CHECKING:
    from emulator.server import Emulator
    from tests.fault.conftest import FaultSize
    from tests.integration.conftest import TestDevice

FUZZER = "fuzzer"
BATCH = 100
P0_ACTIONS = frozenset({0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x11, 0x12, 0x13, 0x14})
P0_BATCH = 50  # under the session's limit of commands in flight
# The plug's control: 1 flag byte (bit 0 switch, bit 1 countdown), then switch bit, countdown.
hostile_p0 = st.one_of(
    st.binary(max_size=3).map(lambda b: b"\x01" + b),  # truncated control
    st.integers(1441, 0xFFFF).map(lambda v: b"\x01\x02\x00" + v.to_bytes(2)),  # out of range
    st.integers(0x04, 0xFF).map(lambda f: b"\x01" + bytes([f]) + b"\x00\x00\x00"),  # bad flags
    # No P0 action at all (0x01-0x06 and 0x11-0x14 are the protocol's).
    st.binary(min_size=1, max_size=40).filter(lambda b: b[0] not in P0_ACTIONS),
)


def _generate[T](strategy: st.SearchStrategy[T], count: int) -> list[T]:
    found: list[T] = []

    @settings(
        max_examples=count, database=None, deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(strategy)
    def collect(item: T) -> None:
        found.append(item)

    while len(found) < count:
        collect()
    return found[:count]


def _snapshot(hass: HomeAssistant, entry: MockConfigEntry, storage: dict[str, Any]) -> Any:
    runtime = entry.runtime_data
    assert runtime.bridge is not None
    states = {
        s.entity_id: (s.state, dict(s.attributes))
        for s in hass.states.async_all()
        if s.entity_id.startswith(("input_", "sensor.gizwits", "binary_sensor.gizwits"))
        and "last_command" not in s.entity_id
    }
    stored = {k: copy.deepcopy(v) for k, v in storage.items() if k.startswith(DOMAIN)}
    return (
        states,
        dict(runtime.bridge.device.state.values),
        runtime.coordinator.data.log_level,
        runtime.coordinator.data.online_apps,
        dict(entry.data),
        dict(entry.options),
        stored,
    )


def _topic(where: Where, did: str) -> str:
    return {
        Where.APP: f"app2dev/{did}/{FUZZER}",
        Where.APP_NESTED: f"app2dev/{did}/{FUZZER}/x",
        Where.CLOUD_RESPONSE: f"ser2cli_res/{did}",
        Where.CLOUD_NOTIFICATION: f"ser2cli_noti/{PRODUCT_KEY}",
    }[where]


@pytest.mark.heavy
@pytest.mark.timeout(1800)
async def test_hostile_frames_and_p0_change_nothing(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    device: TestDevice,
    config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    fault_size: FaultSize,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A long keepalive: the flood (logged at DEBUG) may keep a loaded machine's loop busy for
    # longer than the 2 s test keepalive, and a broker dropping the device is not the subject.
    monkeypatch.setattr(endpoint_module, "SESSION_TIMING", replace(FAST_TIMING, keepalive=60))
    bridge = await setup_bridge(hass, config_entry, PLUG, PLUG_MAPPING)
    session = config_entry.runtime_data.device.session
    await hass.async_block_till_done()
    before = _snapshot(hass, config_entry, hass_storage)
    frames = _generate(hostile_messages, fault_size.ha_hostile_frames // 2)
    payloads = _generate(hostile_p0, fault_size.ha_hostile_frames // 2)
    password = secrets.token_hex(8)
    await emulator.broker.add_user(FUZZER, password, ["topic write #"])
    dropped, p0_bad = (
        session.stats.frames_dropped,
        bridge.device.points.stats.rejected + bridge.device.points.stats.undecodable,
    )
    caplog.set_level(logging.DEBUG, logger="custom_components.gizwits_device")
    async with aiomqtt.Client(
        emulator.broker.host,
        emulator.broker.port,
        identifier=FUZZER,
        username=FUZZER,
        password=password,
        protocol=aiomqtt.ProtocolVersion.V31,
    ) as fuzzer:
        # The session drops these itself.
        for first in range(0, len(frames), BATCH):
            for where, payload in frames[first : first + BATCH]:
                await fuzzer.publish(_topic(where, device.did), payload)
            count = min(first + BATCH, len(frames))
            await wait_until(
                lambda count=count: session.stats.frames_dropped - dropped >= count, timeout=60
            )
        # These reach the bridge; fewer in flight than the session's command limit.
        for first in range(0, len(payloads), P0_BATCH):
            for payload in payloads[first : first + P0_BATCH]:
                await fuzzer.publish(
                    _topic(Where.APP, device.did), encode_frame(AppPassthrough(payload))
                )
            count = min(first + P0_BATCH, len(payloads))
            await wait_until(
                lambda count=count: (
                    bridge.device.points.stats.rejected
                    + bridge.device.points.stats.undecodable
                    - p0_bad
                    >= count
                ),
                timeout=60,
            )
    await hass.async_block_till_done()
    assert session.stats.frames_dropped - dropped == len(frames)
    assert (
        bridge.device.points.stats.rejected + bridge.device.points.stats.undecodable - p0_bad
        == len(payloads)
    )
    assert bridge.device.points.stats.commands == 0
    assert session.connected
    assert _snapshot(hass, config_entry, hass_storage) == before
    ours = [r for r in caplog.records if r.name.startswith("custom_components.gizwits_device")]
    assert not [r for r in ours if r.levelno >= logging.ERROR]
    warnings = [r for r in ours if r.levelno == logging.WARNING]
    assert len(warnings) <= 10, [r.getMessage() for r in warnings[:20]]
