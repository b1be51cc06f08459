"""The path benchmarks 1-2 measure: app 0x0093 → broker → gizwits_device in HA → 0x0094 + 0x04.

The app is a plain aiomqtt client with an app's broker credentials (the emulator's app ACL). It
sends P0 controls as 0x0093 to an endpoint whose product (the bundled smart plug) is mapped to
`input_boolean.bench_switch` / `input_number.bench_countdown` in a real HA core (`ha_host`, its
own process); a request is done when both the 0x0094 ack (matched by sn) and the 0x04 status
report showing the new value have arrived. A second endpoint without a product measures raw
0x0093 passthrough (ack + the event entity firing). The floor is a plain aiomqtt echo running
inside the same HA process and event loop, through the same broker: app → echo → app.

Latency (window 1) and throughput (`window` requests in flight) alternate between the pairs
round by round. Throughput runs are checked, not only timed: every sn acked once, and the
values HA applied (state changes recorded in HA) and reported are exactly the values sent, in
order. A final pass runs under cProfile in the HA process (profile figures, not timings).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
import secrets
import time
from typing import Any

import aiomqtt
import psutil

from benchmarks.common import (
    PLUG,
    PLUG_KEY,
    PLUG_MAPPING,
    RAW_KEY,
    Endpoint,
    client,
    plug_options,
    quantile,
    register,
)
from benchmarks.ha_process import ROOT, HaProcess
from custom_components.gizwits_device.protocol import (
    AckedPassthrough,
    Control,
    P0Codec,
    P0Error,
    ProductModel,
    StatusReport,
    Value,
)
from custom_components.gizwits_device.protocol.frame_codec import decode_frame, encode_frame
from custom_components.gizwits_device.protocol.frames import DevicePassthrough, PassthroughAck
from emulator.app import new_app_client_id
from emulator.broker import app_acl
from emulator.server import Emulator

REPLY_TIMEOUT = 20.0
ECHO_ASK, ECHO_REPLY = "bench/ask", "dev2app/bench-echo"
COUNTDOWN_VALUES = 1441  # input_number.bench_countdown: 0..1440
type Expect = tuple[str, Value] | None
type Workload = Callable[[int], tuple[bytes, Expect]]


@dataclass(slots=True)
class AppSide:
    """One MQTT client sending 0x0093 and matching acks (by sn) and reports (by value)."""

    mqtt: aiomqtt.Client
    topic: str
    codec: P0Codec | None = None
    report_topic: str | None = None
    sent: list[int] = field(default_factory=list)
    acked: list[int] = field(default_factory=list)
    reports: list[dict[str, Value]] = field(default_factory=list)
    _acks: dict[int, asyncio.Future[float]] = field(default_factory=dict)
    _reports: dict[tuple[str, Value], asyncio.Future[float]] = field(default_factory=dict)
    reported: asyncio.Event = field(default_factory=asyncio.Event)

    async def receive(self) -> None:
        """Resolve what each reply completes (run as a task)."""
        async for message in self.mqtt.messages:
            now = time.perf_counter()
            assert isinstance(message.payload, bytes)
            frame = decode_frame(message.payload)
            if isinstance(frame, PassthroughAck | AckedPassthrough):  # the echo returns 0x0093
                self.acked.append(frame.sn)
                _resolve(self._acks.pop(frame.sn, None), now)
            elif isinstance(frame, DevicePassthrough) and str(message.topic) == self.report_topic:
                assert self.codec is not None
                try:
                    report = self.codec.decode(frame.payload)
                except P0Error:
                    continue
                if isinstance(report, StatusReport):
                    values = dict(report.values)
                    self.reports.append(values)
                    self.reported.set()
                    for key in values.items():
                        _resolve(self._reports.pop(key, None), now)

    async def request(self, sn: int, payload: bytes, expect: Expect) -> float:
        """Publish one 0x0093; seconds until its ack (and the expected report) arrived."""
        loop = asyncio.get_running_loop()
        ack = self._acks[sn] = loop.create_future()
        report = None
        if expect is not None:
            report = self._reports[expect] = loop.create_future()
        self.sent.append(sn)
        started = time.perf_counter()
        await self.mqtt.publish(self.topic, encode_frame(AckedPassthrough(sn, payload)), qos=0)
        async with asyncio.timeout(REPLY_TIMEOUT):
            done = await ack
            if report is not None:
                done = max(done, await report)
        return done - started


def _resolve(future: asyncio.Future[float] | None, now: float) -> None:
    if future is not None and not future.done():
        future.set_result(now)


@dataclass(frozen=True, slots=True)
class Run:
    """One measured run."""

    count: int
    seconds: float
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return self.count / self.seconds

    def ms(self, q: float) -> float:
        return quantile(self.latencies, q) * 1e3


class Keys:
    """One sn/value counter for the whole benchmark: every request differs from the last."""

    def __init__(self) -> None:
        self.next = 1

    def take(self, count: int) -> range:
        keys = range(self.next, self.next + count)
        self.next += count
        return keys


async def measure(app: AppSide, keys: range, window: int, workload: Workload) -> Run:
    """Send one request per key, `window` in flight at a time."""
    latencies: list[float] = []
    shared = iter(keys)

    async def worker() -> None:
        for key in shared:  # the workers share one iterator: sent in key order
            payload, expect = workload(key)
            latencies.append(await app.request(key, payload, expect))

    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(window):
            group.create_task(worker())
    return Run(len(keys), time.perf_counter() - started, latencies)


class Setup:
    """Emulator + HA process with the mapped and the raw endpoint, and three app-side pairs."""

    def __init__(self, emu: Emulator, ha: HaProcess) -> None:
        self.emu = emu
        self.ha = ha
        self.codec = P0Codec(ProductModel.from_json(PLUG))
        self.keys = Keys()
        self.apps: dict[str, AppSide] = {}
        self.entities: dict[str, str] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._clients: list[aiomqtt.Client] = []

    async def start(self) -> None:
        (plug,) = await register(self.emu, PLUG_KEY, 1)
        (raw,) = await register(self.emu, RAW_KEY, 1, first=2)
        await self.ha.call("load", domains=["gizwits_device"])
        await self.ha.call(
            "add_entries",
            entries=[plug.entry(self.emu, plug_options(PLUG_MAPPING)), raw.entry(self.emu)],
        )
        for name, endpoint in (("mapped", plug), ("raw", raw)):
            answer = await self.ha.call(
                "entity_id", platform="event", unique_id=f"{endpoint.unique_id}_app_command"
            )
            self.entities[name] = answer["entity_id"]
        self.apps["mapped"] = await self._app(plug, self.codec)
        self.apps["raw"] = await self._app(raw, None)
        self.apps["echo"] = await self._echo()
        # The bound app made the count 0 -> 1: the device sends its full report (protocol §5).
        # Bound before the login's own count came, it is no rise: make one.
        for _ in range(3):
            try:
                async with asyncio.timeout(REPLY_TIMEOUT):
                    await self.apps["mapped"].reported.wait()
                break
            except TimeoutError:
                await self.emu.cloud.push_online_apps(plug.did, 0)
                await self.emu.cloud.push_online_apps(plug.did, None)
        else:
            raise TimeoutError("the mapped endpoint never sent its full report")

    async def _connect(self, user: str, password: str, *topics: str) -> aiomqtt.Client:
        mqtt = client(self.emu.broker.host, self.emu.broker.port, user, password)
        await mqtt.__aenter__()
        self._clients.append(mqtt)
        for topic in topics:
            await mqtt.subscribe(topic, qos=0)
        return mqtt

    async def _app(self, endpoint: Endpoint, codec: P0Codec | None) -> AppSide:
        app_id, password = new_app_client_id(), secrets.token_hex(8)
        did = endpoint.did
        await self.emu.broker.add_user(app_id, password, app_acl(did, app_id))
        mqtt = await self._connect(app_id, password, f"dev2app/{did}", f"dev2app/{did}/{app_id}")
        side = AppSide(mqtt, f"app2dev/{did}/{app_id}", codec, f"dev2app/{did}")
        self._tasks.append(asyncio.create_task(side.receive()))
        await self.emu.cloud.app_bound(did)
        return side

    async def _echo(self) -> AppSide:
        password = secrets.token_hex(8)
        echo_acl = (f"topic read {ECHO_ASK}", f"topic write {ECHO_REPLY}")
        await self.emu.broker.add_user(
            "bench-ask", password, (f"topic write {ECHO_ASK}", f"topic read {ECHO_REPLY}")
        )
        await self.emu.broker.add_user("bench-echo", password, echo_acl)
        await self.ha.call(
            "echo_start",
            host=self.emu.broker.host,
            port=self.emu.broker.port,
            username="bench-echo",
            password=password,
            ask=ECHO_ASK,
            reply=ECHO_REPLY,
        )
        mqtt = await self._connect("bench-ask", password, ECHO_REPLY)
        side = AppSide(mqtt, ECHO_ASK)
        self._tasks.append(asyncio.create_task(side.receive()))
        return side

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for mqtt in self._clients:
            await mqtt.__aexit__(None, None, None)
        await self.ha.call("echo_stop")

    async def warm_up(self, count: int = 100) -> None:
        """Each workload, one request at a time, before anything is measured."""
        for name, workload in (
            ("echo", self.echo_payload),
            ("mapped", self.mixed_control),
            ("raw", self.raw_payload),
        ):
            await measure(self.apps[name], self.keys.take(count), 1, workload)

    async def echo_with_cpu(self, count: int, window: int) -> tuple[Run, float]:
        """An echo throughput run, and HA's CPU ms per echoed message in it."""
        before = self.cpu_seconds()["home_assistant"]
        run = await measure(self.apps["echo"], self.keys.take(count), window, self.echo_payload)
        return run, (self.cpu_seconds()["home_assistant"] - before) / count * 1e3

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time so far of HA, of this process (apps + emulator) and of mosquitto."""
        broker = self.emu.broker._proc  # its pid, for psutil
        assert broker is not None
        processes = {
            "home_assistant": self.ha.process,
            "apps_and_emulator": psutil.Process(),
            "mosquitto": psutil.Process(broker.pid),
        }
        return {
            name: sum(process.cpu_times()[:2]) for name, process in processes.items() if process
        }

    # -- workloads ---------------------------------------------------------------------------

    def mixed_control(self, key: int) -> tuple[bytes, Expect]:
        """Alternately the input_boolean (toggled) and the input_number (a new value)."""
        if key % 2 == 0:
            point, value = "switch", (key // 2) % 2 == 1
        else:
            point, value = "countdown", key % COUNTDOWN_VALUES
        return self.codec.encode(Control({point: value})), (point, value)

    def countdown_control(self, key: int) -> tuple[bytes, Expect]:
        value = key % COUNTDOWN_VALUES
        return self.codec.encode(Control({"countdown": value})), ("countdown", value)

    def echo_payload(self, key: int) -> tuple[bytes, Expect]:
        return self.codec.encode(Control({"countdown": key % COUNTDOWN_VALUES})), None

    @staticmethod
    def raw_payload(key: int) -> tuple[bytes, Expect]:
        return key.to_bytes(4, "big") * 4, None

    # -- checked throughput ------------------------------------------------------------------

    async def checked(self, kind: str, count: int, window: int) -> tuple[Run, dict[str, Any]]:
        """A throughput run of `kind` (mapped/raw) with every count and order verified."""
        app = self.apps[kind]
        entity = "input_number.bench_countdown" if kind == "mapped" else self.entities[kind]
        await self.ha.call("watch", entity_ids=[entity], attribute="sn")
        sent_from, acked_from, reports_from = len(app.sent), len(app.acked), len(app.reports)
        keys = self.keys.take(count)
        workload = self.countdown_control if kind == "mapped" else self.raw_payload
        cpu_before = self.cpu_seconds()
        run = await measure(app, keys, window, workload)
        cpu = {k: (v - cpu_before[k]) / count * 1e3 for k, v in self.cpu_seconds().items()}
        await asyncio.sleep(0.5)  # anything applied twice would show up now
        changes = (await self.ha.call("watched"))["changes"][entity]
        sent = app.sent[sent_from:]
        acks = Counter(app.acked[acked_from:])
        if kind == "mapped":
            expected: list[Any] = [k % COUNTDOWN_VALUES for k in sent]
            applied: list[Any] = [round(float(state)) for state, _ in changes]
            reported = [r["countdown"] for r in app.reports[reports_from:]]
        else:
            expected, applied, reported = list(sent), [sn for _, sn in changes], []
        check = {
            "sent": len(sent),
            "acked_once": sum(acks[sn] == 1 for sn in sent),
            "applied": len(applied),
            "reported": len(reported),
            "applied_in_order_once": applied == expected,
            "reported_in_order_once": reported == expected if kind == "mapped" else None,
            "cpu_ms_per_command": cpu,
        }
        check["ok"] = (
            check["acked_once"] == len(sent) == count
            and check["applied_in_order_once"]
            and check["reported_in_order_once"] is not False
        )
        return run, check


@contextlib.asynccontextmanager
async def running(emu: Emulator, root: Path = ROOT) -> AsyncIterator[Setup]:
    """An HA process running `root`'s integration, set up with the endpoints and apps."""
    async with HaProcess(root) as ha:
        setup = Setup(emu, ha)
        await setup.start()
        try:
            yield setup
        finally:
            await setup.stop()
