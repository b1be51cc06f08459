"""Round trips app 0x0093 → the real M2MSession → 0x0094, vs a raw aiomqtt echo, same mosquitto.

    python -m benchmarks.bench_m2m [--count 2000] [--window 32] [--rounds 3]

One `Emulator` (mosquitto + GService) serves both. The device side is the integration's own
`M2MSession` (registered and provisioned through the emulator's GService, default
`SessionTiming`). The app side is a plain aiomqtt client with the emulator's app ACL, sending
0x0093 frames and matching each 0x0094 by sn. The baseline is two plain aiomqtt clients through
the same broker: one publishes the same bytes, the other publishes them straight back. Both
pairs use MQTT 3.1 at QoS 0, as Gizwits does. Each mode runs sequentially (one request in
flight: latency) and pipelined (`--window` in flight: throughput); the rounds alternate
between the two pairs so that neither gets a warmer machine. Informational only: no assertion
on any time.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
from dataclasses import asdict, dataclass
import logging
import secrets
import statistics
import time
from typing import Any

import aiohttp
import aiomqtt

from benchmarks.common import NO_DELAY
from custom_components.gizwits_device.protocol import AckedPassthrough, M2MSession, SessionTiming
from custom_components.gizwits_device.protocol.frame_codec import decode_frame, encode_frame
from custom_components.gizwits_device.protocol.frames import PassthroughAck
from custom_components.gizwits_device.protocol.gservice import GServiceClient
from emulator.app import new_app_client_id
from emulator.broker import app_acl
from emulator.server import Emulator

PRODUCT_KEY = "0123456789abcdef0123456789abcdef"
MAC = "0A1B2C3D4E5F"
PASSCODE = "BENCHPASS1"
PAYLOAD = bytes(range(16))
REPLY_TIMEOUT = 10.0


class Requester:
    """A plain aiomqtt client that publishes requests and matches replies by key."""

    def __init__(self, client: aiomqtt.Client, topic: str, key_of: Callable[[bytes], int]) -> None:
        self._client = client
        self._topic = topic
        self._key_of = key_of
        self._pending: dict[int, asyncio.Future[None]] = {}

    async def receive(self) -> None:
        """Resolve the pending request each reply belongs to (run as a task)."""
        async for message in self._client.messages:
            assert isinstance(message.payload, bytes)
            future = self._pending.pop(self._key_of(message.payload), None)
            if future is not None and not future.done():
                future.set_result(None)

    async def request(self, key: int, payload: bytes) -> float:
        """Publish, wait for the matching reply; returns the round trip in seconds."""
        future = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        started = time.perf_counter()
        await self._client.publish(self._topic, payload, qos=0)
        async with asyncio.timeout(REPLY_TIMEOUT):
            await future
        return time.perf_counter() - started


@dataclass(frozen=True, slots=True)
class Result:
    """One measured run."""

    ops_per_s: float
    median_ms: float
    p95_ms: float


async def measure(requester: Requester, count: int, window: int, first_key: int) -> Result:
    """`count` requests, `window` at a time (1 = strictly one after the other)."""
    latencies: list[float] = []
    keys = iter(range(first_key, first_key + count))

    async def worker() -> None:
        for key in keys:  # the workers share one iterator: each key is used once
            frame = encode_frame(AckedPassthrough(key, PAYLOAD))
            latencies.append(await requester.request(key, frame))

    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(window):
            group.create_task(worker())
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=20)
    return Result(count / elapsed, statistics.median(latencies) * 1e3, cuts[18] * 1e3)


def _sn(payload: bytes) -> int:
    frame = decode_frame(payload)
    if not isinstance(frame, AckedPassthrough | PassthroughAck):
        raise TypeError(f"unexpected reply {frame!r}")
    return frame.sn


def _client(emu: Emulator, user: str, password: str) -> aiomqtt.Client:
    return aiomqtt.Client(
        emu.broker.host,
        emu.broker.port,
        identifier=user,
        username=user,
        password=password,
        protocol=aiomqtt.ProtocolVersion.V31,
        socket_options=NO_DELAY,  # as the session's own socket
    )


@contextlib.asynccontextmanager
async def running(requester: Requester, *tasks_: asyncio.Task[None]) -> AsyncIterator[Requester]:
    """Run the requester's receive loop (and `tasks_`) for the duration of the block."""
    tasks = [asyncio.create_task(requester.receive()), *tasks_]
    try:
        yield requester
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@contextlib.asynccontextmanager
async def m2m_pair(
    emu: Emulator, http: aiohttp.ClientSession, timing: SessionTiming
) -> AsyncIterator[Requester]:
    """The integration's M2MSession as the device, a plain aiomqtt client as the app."""
    gservice = GServiceClient(http, emu.gservice_url)
    did = await gservice.register(PRODUCT_KEY, MAC, PASSCODE)
    session = M2MSession(
        gservice, did=did, passcode=PASSCODE, product_key=PRODUCT_KEY, timing=timing
    )
    device = asyncio.create_task(session.run())
    async with asyncio.timeout(REPLY_TIMEOUT):
        await session.wait_connected()
    app_id, password = new_app_client_id(), secrets.token_hex(8)
    await emu.broker.add_user(app_id, password, app_acl(did, app_id))
    async with _client(emu, app_id, password) as app:
        await app.subscribe(f"dev2app/{did}/{app_id}", qos=0)
        requester = Requester(app, f"app2dev/{did}/{app_id}", _sn)
        async with running(requester, device):
            yield requester
    stats = session.stats
    print(
        f"  (M2MSession: {stats.frames_received} frames received, {stats.frames_sent} sent, "
        f"{stats.frames_dropped} dropped, {stats.duplicates} duplicates)"
    )


async def _echo(client: aiomqtt.Client, topic: str) -> None:
    async for message in client.messages:
        assert isinstance(message.payload, bytes)
        await client.publish(topic, message.payload, qos=0)


# The reply goes to a dev2app/ topic on purpose: the emulator's cloud agent, in this same event
# loop, reads dev2app/# and so decodes every device 0x0094 too; it must pay for the echo's replies
# as well, or the baseline would be cheaper for a reason that has nothing to do with the session.
ECHO_ASK, ECHO_REPLY = "bench/ask", "dev2app/bench-echo"


@contextlib.asynccontextmanager
async def echo_pair(emu: Emulator) -> AsyncIterator[Requester]:
    """Two plain aiomqtt clients: one asks, the other publishes every message straight back."""
    password = secrets.token_hex(8)
    ask_acl = (f"topic write {ECHO_ASK}", f"topic read {ECHO_REPLY}")
    echo_acl = (f"topic read {ECHO_ASK}", f"topic write {ECHO_REPLY}")
    await emu.broker.add_user("bench-ask", password, ask_acl)
    await emu.broker.add_user("bench-echo", password, echo_acl)
    async with (
        _client(emu, "bench-ask", password) as ask,
        _client(emu, "bench-echo", password) as echo,
    ):
        await ask.subscribe(ECHO_REPLY, qos=0)
        await echo.subscribe(ECHO_ASK, qos=0)
        requester = Requester(ask, ECHO_ASK, _sn)
        async with running(requester, asyncio.create_task(_echo(echo, ECHO_REPLY))):
            yield requester


def _line(name: str, result: Result) -> str:
    return (
        f"  {name:<26} {result.ops_per_s:>9,.0f} ops/s   median {result.median_ms:6.3f} ms"
        f"   p95 {result.p95_ms:6.3f} ms"
    )


async def main(count: int, window: int, rounds: int, dedup_window: float) -> dict[str, Any]:
    """Measure both pairs in alternating rounds; print each round's best and the ratios."""
    best: dict[tuple[str, int], Result] = {}
    timing = SessionTiming(dedup_window=dedup_window)
    async with Emulator(product_keys=[PRODUCT_KEY]) as emu, aiohttp.ClientSession() as http:
        print(
            f"mosquitto on {emu.broker.host}:{emu.broker.port}; {count} round trips per run; "
            f"session dedup window {dedup_window:g} s"
        )
        async with m2m_pair(emu, http, timing) as m2m, echo_pair(emu) as echo:
            for pair in (m2m, echo):  # warm-up: connections, caches, first-call costs
                await measure(pair, 200, 1, 0)
            key = 1000
            for round_ in range(1, rounds + 1):
                print(f"round {round_}")
                for name, pair in (("M2MSession 0x0093/0x0094", m2m), ("aiomqtt echo", echo)):
                    for size in (1, window):
                        result = await measure(pair, count, size, key)
                        key += count
                        label = f"{name} w={size}"
                        print(_line(label, result))
                        previous = best.get((name, size))
                        if previous is None or result.ops_per_s > previous.ops_per_s:
                            best[(name, size)] = result
    print(f"best of {rounds} rounds (window = requests in flight)")
    for size in (1, window):
        ours, base = best[("M2MSession 0x0093/0x0094", size)], best[("aiomqtt echo", size)]
        print(_line(f"M2MSession w={size}", ours))
        print(_line(f"aiomqtt echo w={size}", base))
        print(f"  M2MSession / echo throughput: {ours.ops_per_s / base.ops_per_s:.2f}")
    return {f"{name} w={size}": asdict(result) for (name, size), result in best.items()}


if __name__ == "__main__":
    # aiomqtt warns once more than 10 publishes wait on one client: the pipelined runs' normal.
    logging.getLogger("mqtt").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="round trips per run")
    parser.add_argument("--window", type=int, default=32, help="requests in flight when pipelined")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--dedup-window",
        type=float,
        default=SessionTiming().dedup_window,
        help="seconds the session remembers an (app, sn) (default: the protocol's)",
    )
    args = parser.parse_args()
    asyncio.run(main(args.count, args.window, args.rounds, args.dedup_window))
