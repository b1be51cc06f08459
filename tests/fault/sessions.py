"""A device registered in the emulator and its `M2MSession` running in a task (library level)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass, field

import aiohttp

from custom_components.gizwits_device.protocol import (
    ConnectionStatus,
    GServiceClient,
    M2MAuthenticationError,
    M2MSession,
    ReceivedFrame,
    SessionTiming,
)
from emulator.server import Emulator
from tests.conftest import PRODUCT_KEY

PASSCODE = "FaultPass42"
MAC = "0A1B2C3D4E5F"

# Keepalive 2 s (a PINGREQ after 2 s of quiet, lost 2 s later): short for the tests, long
# enough that a loaded machine stalling the loop for a moment does not look like a lost link.
TIMING = SessionTiming(
    keepalive=2,
    backoff_step=0.1,
    backoff_cap=0.5,
    connect_timeout=1.0,
    ack_retry_interval=0.2,
    ack_retries=3,
    dedup_window=10.0,
    reconnect_jitter=0.1,
)


@dataclass
class RunningSession:
    """The session, its task, and everything it reported."""

    session: M2MSession
    did: str
    task: asyncio.Task[None]
    frames: list[ReceivedFrame] = field(default_factory=list)
    statuses: list[ConnectionStatus] = field(default_factory=list)


@contextlib.asynccontextmanager
async def running_session(
    emulator: Emulator,
    *,
    timing: SessionTiming = TIMING,
    passcode: str = PASSCODE,
    mac: str = MAC,
    gservice_url: str | None = None,
    wait: bool = True,
    **session_kwargs: object,
) -> AsyncIterator[RunningSession]:
    """Register (PRODUCT_KEY, `mac`) and run its session until the block ends."""
    async with aiohttp.ClientSession() as http:
        device = emulator.state.register(PRODUCT_KEY, mac, passcode)
        await emulator.settle()
        gservice = GServiceClient(http, gservice_url or emulator.gservice_url, timeout=2.0)
        session = M2MSession(
            gservice,
            did=device.did,
            passcode=passcode,
            product_key=PRODUCT_KEY,
            timing=timing,
            **session_kwargs,  # type: ignore[arg-type]
        )
        running = RunningSession(session, device.did, asyncio.create_task(asyncio.sleep(0)))
        session.add_frame_listener(running.frames.append)
        session.add_status_listener(running.statuses.append)
        running.task = asyncio.create_task(session.run())
        try:
            if wait:
                async with asyncio.timeout(15):
                    await session.wait_connected()
            yield running
        finally:
            running.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, M2MAuthenticationError):
                await running.task
