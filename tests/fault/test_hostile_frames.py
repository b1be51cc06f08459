"""Every inbound topic fed malformed, oversized and hostile frames (protocol.md §6).

A fuzzer with write access to every topic publishes hypothesis-generated messages through the
real broker to a logged-in device, in batches each closed by one valid 0x0090 (the sentinel:
the broker keeps one publisher's order, so when it arrives the batch has been handled). Every
hostile message must be dropped and counted, nothing dispatched, nothing sent in reply, the
session never dropped, and no error logged. Size: `fault_size.hostile_frames` (3,000 by
default, 100,000 with `-m heavy`).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
import logging
import secrets

import aiomqtt
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.gizwits_device.protocol.frame_codec import decode_frame, encode_frame
from custom_components.gizwits_device.protocol.frame_fields import FrameError
from custom_components.gizwits_device.protocol.frames import AppPassthrough, OnlineAppCount
from custom_components.gizwits_device.protocol.session import SessionStats
from emulator.server import Emulator
from tests.conftest import PRODUCT_KEY
from tests.fault.conftest import FaultSize

from .hostile import Hostile, Where, hostile_messages, oversized
from .sessions import TIMING, RunningSession, running_session

BATCH = 200  # well under the session's incoming queue limit
FUZZER = "fuzzer"
# A long keepalive: a loaded machine busy with the flood must not have the broker drop the
# device for silence (not the subject here).
FLOOD_TIMING = replace(TIMING, keepalive=60)


def _topic(where: Where, did: str) -> str:
    return {
        Where.APP: f"app2dev/{did}/{FUZZER}",
        Where.APP_NESTED: f"app2dev/{did}/{FUZZER}/extra",
        Where.CLOUD_RESPONSE: f"ser2cli_res/{did}",
        Where.CLOUD_NOTIFICATION: f"ser2cli_noti/{PRODUCT_KEY}",
    }[where]


def generate(count: int) -> list[list[Hostile]]:
    """`count` hostile messages from hypothesis, in batches of at most BATCH."""
    batches: list[list[Hostile]] = []

    @settings(
        max_examples=max(1, count // (BATCH // 2)),
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(hostile_messages, min_size=BATCH // 2, max_size=BATCH))
    def collect(batch: list[Hostile]) -> None:
        batches.append(batch)

    collect()
    # Top up with fresh rounds until the size is reached (hypothesis may stop early).
    while sum(map(len, batches)) < count:
        collect()
    return batches


def _describe(message: Hostile) -> str:
    where, payload = message
    try:
        return f"{where}: {payload[:40].hex()} decodes to {decode_frame(payload)!r}"
    except FrameError as err:
        return f"{where}: {payload[:40].hex()} ({err})"


class Fuzzer:
    """Publishes batches to a running session and checks what each one did to it."""

    def __init__(self, client: aiomqtt.Client, run: RunningSession) -> None:
        self.client = client
        self.run = run
        self.sent = 0

    async def batch(self, batch: list[Hostile]) -> None:
        stats = self.run.session.stats
        before = _snapshot(stats)
        dispatched = len(self.run.frames)
        for where, payload in batch:
            await self.client.publish(_topic(where, self.run.did), payload, qos=0)
        sentinel = AppPassthrough(b"sentinel" + secrets.token_bytes(8))
        await self.client.publish(_topic(Where.APP, self.run.did), encode_frame(sentinel))
        async with asyncio.timeout(30):
            while not any(r.frame == sentinel for r in self.run.frames[dispatched:]):
                await asyncio.sleep(0.005)
        self.sent += len(batch)
        new = self.run.frames[dispatched:]
        assert [r.frame for r in new] == [sentinel], [_describe(m) for m in batch][:5]
        after = _snapshot(stats)
        assert after["frames_received"] - before["frames_received"] == len(batch) + 1
        assert after["frames_dropped"] - before["frames_dropped"] == len(batch)
        # Nothing answered (no 0x0094, no 0x0011), the link never dropped.
        assert after["frames_sent"] == before["frames_sent"]
        assert after["connection_losses"] == before["connection_losses"] == 0
        assert self.run.session.connected


def _snapshot(stats: SessionStats) -> dict[str, object]:
    return stats.as_dict()


async def _fuzz(emulator: Emulator, batches: list[list[Hostile]]) -> Fuzzer:
    password = secrets.token_hex(8)
    await emulator.broker.add_user(FUZZER, password, ["topic write #"])
    async with (
        running_session(emulator, timing=FLOOD_TIMING) as run,
        aiomqtt.Client(
            emulator.broker.host,
            emulator.broker.port,
            identifier=FUZZER,
            username=FUZZER,
            password=password,
            protocol=aiomqtt.ProtocolVersion.V31,
        ) as client,
    ):
        # The cloud's answer to the login's 0x020F comes first, not inside a batch.
        async with asyncio.timeout(10):
            while not any(isinstance(r.frame, OnlineAppCount) for r in run.frames):
                await asyncio.sleep(0.01)
        fuzzer = Fuzzer(client, run)
        for batch in batches:
            await fuzzer.batch(batch)
        assert not run.task.done()
        assert run.session.stats.connects == 1
        return fuzzer


@pytest.mark.heavy
@pytest.mark.timeout(1800)
async def test_hostile_frames_on_every_topic_are_dropped_and_counted(
    emulator: Emulator, fault_size: FaultSize, caplog: pytest.LogCaptureFixture
) -> None:
    """Malformed and misdirected frames (hypothesis): dropped, counted, nothing changes."""
    batches = generate(fault_size.hostile_frames)
    with caplog.at_level(logging.DEBUG, logger="custom_components.gizwits_device"):
        fuzzer = await _fuzz(emulator, batches)
    assert fuzzer.sent >= fault_size.hostile_frames
    assert not _warnings(caplog), caplog.text[-2000:]


async def test_oversized_frames_are_dropped_and_counted(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Past every 65535-byte limit, and lengths promising 256 MiB: dropped, nothing else."""
    with caplog.at_level(logging.DEBUG, logger="custom_components.gizwits_device"):
        fuzzer = await _fuzz(emulator, [oversized()])
    assert fuzzer.sent == len(oversized())
    assert not _warnings(caplog)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The integration's records above DEBUG (a drop is logged at debug level only, §6)."""
    return [
        r
        for r in caplog.records
        if r.name.startswith("custom_components.gizwits_device") and r.levelno > logging.DEBUG
    ]
