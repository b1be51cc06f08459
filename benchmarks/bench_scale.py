"""Benchmarks 3-4: many endpoints in one Home Assistant, and reconnecting after a broker restart.

    python -m benchmarks.bench_scale [--quick]

For each size a fresh HA process (`ha_host`) loads the integration, idles (its baseline CPU and
RSS), then gets that many config entries at once: smart plugs with every point native, each a
device registered in the emulator. Figures: seconds until every entry's set-up (= first M2M
login) finished, beside the floor of as many plain aiomqtt clients connecting and subscribing
at once; RSS and idle CPU per endpoint over the baseline, CPU extrapolated to an hour.

Reconnect: mosquitto is restarted on the same port; from the moment it accepts logins again,
the time until each session is logged in again (seen in HA) and its full status report has
reached the broker (seen by a plain client subscribed to dev2app/+), beside that plain client's
own reconnect (retrying every 10 ms). Sessions use the protocol's timing: first retry after a
loss at a random 0..2 s, then 10 s, 20 s ... (§2.8 backoff).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from typing import Any

import aiomqtt

from benchmarks.common import (
    MIB,
    PLUG_KEY,
    client,
    plug_options,
    quantile,
    register,
    run_with_emulator,
)
from benchmarks.ha_process import HaProcess
from emulator.server import Emulator

RECONNECT_TIMEOUT = 120.0


class Monitor:
    """A plain client on dev2app/+: when each device's next broadcast arrives; reconnects fast."""

    def __init__(self, emu: Emulator, password: str) -> None:
        self._emu = emu
        self._password = password
        self.first_seen: dict[str, float] = {}
        self.connected_at = 0.0
        self.up = asyncio.Event()
        self._seen_new = asyncio.Event()

    async def wait_seen(self, dids: list[str]) -> None:
        """Until every DID in `dids` was seen since `first_seen` was cleared."""
        async with asyncio.timeout(RECONNECT_TIMEOUT):
            while not all(did in self.first_seen for did in dids):
                self._seen_new.clear()
                await self._seen_new.wait()

    async def run(self) -> None:
        broker = self._emu.broker
        while True:
            try:
                async with client(
                    broker.host, broker.port, "bench-monitor", self._password
                ) as mqtt:
                    await mqtt.subscribe("dev2app/+", qos=0)
                    self.connected_at = time.monotonic()
                    self.up.set()
                    async for message in mqtt.messages:
                        did = str(message.topic).split("/")[1]
                        if did not in self.first_seen:
                            self.first_seen[did] = time.monotonic()
                            self._seen_new.set()
            except aiomqtt.MqttError:
                self.up.clear()
            await asyncio.sleep(0.01)


async def floor_connect(emu: Emulator, count: int, password: str) -> float:
    """Seconds for `count` plain aiomqtt clients to connect and subscribe 3 topics, at once."""
    broker = emu.broker
    clients = [
        client(broker.host, broker.port, "bench-floor", password, f"floor{i}") for i in range(count)
    ]

    async def connect(mqtt: aiomqtt.Client) -> None:
        await mqtt.__aenter__()
        for topic in ("bench/floor/a", "bench/floor/b", "bench/floor/c"):
            await mqtt.subscribe(topic, qos=0)

    started = time.monotonic()
    await asyncio.gather(*(connect(c) for c in clients))
    seconds = time.monotonic() - started
    for mqtt in clients:
        await mqtt.__aexit__(None, None, None)
    return seconds


async def idle_cpu(ha: HaProcess, seconds: float) -> float:
    """CPU seconds per second the HA process uses while nothing happens."""
    before = ha.cpu_seconds()
    await asyncio.sleep(seconds)
    return (ha.cpu_seconds() - before) / seconds


async def reconnect(
    emu: Emulator, ha: HaProcess, monitor: Monitor, dids: list[str]
) -> dict[str, Any]:
    """Restart the broker; how long until every session is back and has reported."""
    monitor.first_seen.clear()
    down = time.monotonic()
    await emu.broker.restart()
    back = time.monotonic()
    await monitor.wait_seen(dids)
    connected_at = (await ha.call("connected_at"))["connected_at"]
    up = [
        min((t for t in times if t >= down), default=float("nan")) - back
        for times in connected_at.values()
    ]
    reported = [monitor.first_seen[did] - back for did in dids]
    return {
        "endpoints": len(dids),
        "broker_restart_s": back - down,
        "floor_plain_client_s": monitor.connected_at - back,
        "up_p50_s": quantile(up, 0.5),
        "up_max_s": max(up),
        "reported_p50_s": quantile(reported, 0.5),
        "reported_max_s": max(reported),
    }


async def one_size(
    emu: Emulator,
    *,
    count: int,
    first: int,
    idle_s: float,
    monitor: Monitor,
    password: str,
    with_reconnect: bool,
) -> dict[str, Any]:
    """One HA process with `count` endpoints: connect time, RSS, idle CPU (and reconnect)."""
    endpoints = await register(emu, PLUG_KEY, count, first=first)
    dids = [e.did for e in endpoints]
    floor = await floor_connect(emu, count, password)
    async with HaProcess() as ha:
        await ha.call("load", domains=["gizwits_device"])
        await asyncio.sleep(1.0)
        rss_base, cpu_base = ha.rss(), await idle_cpu(ha, idle_s)
        monitor.first_seen.clear()
        answer = await ha.call(
            "add_entries", entries=[e.entry(emu, plug_options()) for e in endpoints]
        )
        if answer["loaded"] != count:
            raise RuntimeError(f"only {answer['loaded']} of {count} entries loaded")
        await monitor.wait_seen(dids)  # every endpoint's first full report went out
        await asyncio.sleep(2.0)  # OTA checks and the cloud's 0x0210 answers settle
        rss, cpu = ha.rss(), await idle_cpu(ha, idle_s)
        result: dict[str, Any] = {
            "endpoints": count,
            "connected_s": answer["seconds"],
            "floor_connect_s": floor,
            "rss_base_mib": rss_base / MIB,
            "rss_mib": rss / MIB,
            "rss_per_endpoint_mib": (rss - rss_base) / count / MIB,
            "idle_cpu_base_pct": cpu_base * 100,
            "idle_cpu_pct": cpu * 100,
            "idle_cpu_per_endpoint_pct": (cpu - cpu_base) / count * 100,
            "idle_cpu_s_per_endpoint_hour": (cpu - cpu_base) / count * 3600,
            "idle_window_s": idle_s,
        }
        if with_reconnect:
            result["reconnect"] = await reconnect(emu, ha, monitor, dids)
    return result


async def run(emu: Emulator, quick: bool) -> dict[str, Any]:
    """Every size; prints the tables and returns the figures."""
    sizes, reconnects, idle_s = ((1, 10), (1, 10), 5.0) if quick else ((1, 10, 100), (1, 100), 30.0)
    password = secrets.token_hex(8)
    await emu.broker.add_user("bench-monitor", password, ("topic read dev2app/#",))
    await emu.broker.add_user("bench-floor", password, ("topic read bench/floor/#",))
    monitor = Monitor(emu, password)
    task = asyncio.create_task(monitor.run())
    results = []
    try:
        await asyncio.wait_for(monitor.up.wait(), 10)
        first = 1000
        for count in sizes:
            print(f"  {count} endpoint(s) ...", flush=True)
            results.append(
                await one_size(
                    emu,
                    count=count,
                    first=first,
                    idle_s=idle_s,
                    monitor=monitor,
                    password=password,
                    with_reconnect=count in reconnects,
                )
            )
            first += count
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    _print(results)
    return {"sizes": results}


def _print(results: list[dict[str, Any]]) -> None:
    print(
        f"  {'endpoints':>9} {'connected s':>11} {'floor s':>8} {'RSS MiB/ep':>10} "
        f"{'idle CPU %/ep':>13} {'CPU s/ep/h':>10}   HA alone: RSS MiB, idle CPU %"
    )
    for r in results:
        print(
            f"  {r['endpoints']:>9} {r['connected_s']:>11.2f} {r['floor_connect_s']:>8.2f} "
            f"{r['rss_per_endpoint_mib']:>10.2f} {r['idle_cpu_per_endpoint_pct']:>13.4f} "
            f"{r['idle_cpu_s_per_endpoint_hour']:>10.2f}   {r['rss_base_mib']:.0f}, "
            f"{r['idle_cpu_base_pct']:.2f}"
        )
    print(
        f"  {'endpoints':>9} {'restart s':>9} {'plain client back s':>19} "
        f"{'sessions up p50/max s':>21} {'reported p50/max s':>18}"
    )
    for r in results:
        if (c := r.get("reconnect")) is not None:
            print(
                f"  {c['endpoints']:>9} {c['broker_restart_s']:>9.2f} "
                f"{c['floor_plain_client_s']:>19.3f} "
                f"{c['up_p50_s']:>10.2f}/{c['up_max_s']:<10.2f} "
                f"{c['reported_p50_s']:>8.2f}/{c['reported_max_s']:<9.2f}"
            )


if __name__ == "__main__":
    run_with_emulator(__doc__, run, [PLUG_KEY], quick_help="1 and 10 endpoints, 5 s idle")
