"""The benchmark driver's view into the Home Assistant process (commands run in HA's loop).

`ha_host` serves these as JSON lines on 127.0.0.1: add gizwits_device config entries and time
their set-up, record state changes of chosen entities (what was applied, in which order), run a
plain aiomqtt echo inside HA's own event loop (the floor), and profile HA's event-loop thread
with cProfile. It measures; it never changes what the integration does.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import io
import json
import os
import pstats
import time
from types import MappingProxyType
from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.setup import async_setup_component

from benchmarks.common import client
from custom_components.gizwits_device.protocol.device.device import REPORT_TASK

GIZWITS = "gizwits_device"
# Source files whose functions count as "the codec" in a profile: frames, P0, and the data
# points' value conversions (scaling, ranges) the P0 codec calls for every value.
CODEC_FILES = (
    "protocol/frames.py",
    "protocol/frame_codec.py",
    "protocol/frame_fields.py",
    "protocol/p0.py",
    "protocol/p0_messages.py",
    "protocol/product.py",
)
# The event loop waiting for I/O: idle time, not CPU.
IDLE_FUNCTIONS = ("<method 'poll' of 'select.epoll' objects>", "<built-in method select.")


class Probe:
    """The probe's commands (one JSON object per line in, one per line out)."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self.changes: dict[str, list[tuple[str, Any]]] = {}
        self._unwatch: list[Any] = []
        self._echo: asyncio.Task[None] | None = None
        self._profile: cProfile.Profile | None = None
        self.connected_at: dict[str, list[float]] = {}
        self.stopped = asyncio.Event()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer requests until the driver closes the connection."""
        while line := await reader.readline():
            request = json.loads(line)
            try:
                answer = await getattr(self, f"op_{request.pop('op')}")(**request)
            except Exception as err:  # reported to the driver, which fails the run
                answer = {"error": f"{type(err).__name__}: {err}"}
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        writer.close()

    async def op_ping(self) -> dict[str, Any]:
        return {"pid": os.getpid()}

    async def op_stop(self) -> dict[str, Any]:
        self.stopped.set()
        return {}

    async def op_load(self, domains: list[str]) -> dict[str, Any]:
        """Set up integrations (e.g. gizwits_device before any entry exists)."""
        for domain in domains:
            if not await async_setup_component(self.hass, domain, {}):
                raise RuntimeError(f"could not set up {domain}")
        return {}

    async def op_add_entries(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        """Add config entries at once and wait for every set-up (= first login) to finish."""
        started = time.monotonic()
        created = [
            ConfigEntry(
                data=item["data"],
                discovery_keys=MappingProxyType({}),
                domain=GIZWITS,
                minor_version=1,
                options=item.get("options") or {},
                source=SOURCE_USER,
                subentries_data=(),
                title=item["title"],
                unique_id=item["unique_id"],
                version=1,
            )
            for item in entries
        ]
        await asyncio.gather(*(self.hass.config_entries.async_add(e) for e in created))
        loaded = sum(e.state is ConfigEntryState.LOADED for e in created)
        for entry in created:
            if entry.state is ConfigEntryState.LOADED:
                self._track_connections(entry)
        return {"seconds": time.monotonic() - started, "loaded": loaded, "started": started}

    def _track_connections(self, entry: ConfigEntry) -> None:
        session = entry.runtime_data.device.session
        times = self.connected_at.setdefault(entry.unique_id or "", [])

        def _on_status(status: Any) -> None:
            if status.state == "connected":
                times.append(time.monotonic())

        entry.async_on_unload(session.add_status_listener(_on_status))

    async def op_connected_at(self) -> dict[str, Any]:
        """Monotonic times (CLOCK_MONOTONIC, shared with the driver) of every reconnect."""
        return {"connected_at": self.connected_at}

    async def op_connected(self) -> dict[str, Any]:
        entries = self.hass.config_entries.async_entries(GIZWITS)
        up = sum(
            e.state is ConfigEntryState.LOADED and e.runtime_data.device.session.connected
            for e in entries
        )
        return {"connected": up, "entries": len(entries)}

    async def op_unload_all(self) -> dict[str, Any]:
        for entry in self.hass.config_entries.async_entries(GIZWITS):
            await self.hass.config_entries.async_remove(entry.entry_id)
        self.connected_at.clear()
        return {}

    async def op_reports(self, unique_id: str, count: int) -> dict[str, Any]:
        """Send `count` full status reports of one entry's bridge (to the cloud, the logged-in
        LAN apps and, when the entry's option is on, the UDP status broadcast) and wait until
        every send finished; the process CPU time (all threads) it took."""
        entry = next(
            e for e in self.hass.config_entries.async_entries(GIZWITS) if e.unique_id == unique_id
        )
        points = entry.runtime_data.device.points
        if points is None:
            raise LookupError(f"{unique_id} has no product")
        lan_service = entry.runtime_data.lan.service if entry.runtime_data.lan else None
        sent = lan_service.stats.status_broadcasts_sent if lan_service else 0
        cpu, wall = time.process_time(), time.perf_counter()
        sends: set[asyncio.Task[Any]] = set()
        for _ in range(count):
            points.report_now()
            # The report's send task; run it, as reports go.
            sends.update(t for t in asyncio.all_tasks() if t.get_name() == REPORT_TASK)
            await asyncio.sleep(0)
        await asyncio.gather(*sends)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        broadcasts = (lan_service.stats.status_broadcasts_sent if lan_service else 0) - sent
        return {"cpu_s": cpu, "wall_s": wall, "broadcasts": broadcasts}

    async def op_entity_id(self, platform: str, unique_id: str) -> dict[str, Any]:
        found = er.async_get(self.hass).async_get_entity_id(platform, GIZWITS, unique_id)
        if found is None:
            raise LookupError(f"no {platform} entity {unique_id}")
        return {"entity_id": found}

    async def op_watch(self, entity_ids: list[str], attribute: str | None = None) -> dict[str, Any]:
        """Record (state, attribute) of every new state of these entities from now on."""
        for entity_id in entity_ids:
            self.changes[entity_id] = []

        @callback
        def _record(event: Event[EventStateChangedData]) -> None:
            new = event.data["new_state"]
            if new is not None:
                value = new.attributes.get(attribute) if attribute else None
                self.changes[event.data["entity_id"]].append((new.state, value))

        self._unwatch.append(async_track_state_change_event(self.hass, entity_ids, _record))
        return {}

    async def op_watched(self) -> dict[str, Any]:
        """What was recorded since `watch` (and stop recording)."""
        for unwatch in self._unwatch:
            unwatch()
        self._unwatch.clear()
        changes, self.changes = self.changes, {}
        return {"changes": changes}

    # -- the floor: a raw aiomqtt echo in HA's own loop ------------------------------------

    async def op_echo_start(self, **link: Any) -> dict[str, Any]:
        ready = asyncio.get_running_loop().create_future()
        self._echo = self.hass.async_create_background_task(
            self._run_echo(ready, **link), "bench_probe echo"
        )
        await ready
        return {}

    async def _run_echo(
        self,
        ready: asyncio.Future[None],
        *,
        host: str,
        port: int,
        username: str,
        password: str,
        ask: str,
        reply: str,
    ) -> None:
        async with client(host, port, username, password) as mqtt:
            await mqtt.subscribe(ask, qos=0)
            ready.set_result(None)
            async for message in mqtt.messages:
                assert isinstance(message.payload, bytes)
                await mqtt.publish(reply, message.payload, qos=0)

    async def op_echo_stop(self) -> dict[str, Any]:
        await self.stop_echo()
        return {}

    async def stop_echo(self) -> None:
        task, self._echo = self._echo, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- profiling ---------------------------------------------------------------------------

    async def op_profile_start(self) -> dict[str, Any]:
        self._profile = cProfile.Profile()
        self._profile.enable()
        return {}

    async def op_profile_stop(self, top: int = 20, path: str | None = None) -> dict[str, Any]:
        """Stop; the top functions by own time, and the codec's share of the busy time."""
        profile, self._profile = self._profile, None
        assert profile is not None
        profile.disable()
        stats = pstats.Stats(profile)
        if path:
            stats.dump_stats(path)
        busy = codec = idle = 0.0
        for (filename, _, name), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
            if any(name.startswith(i) for i in IDLE_FUNCTIONS):
                idle += tottime
                continue
            busy += tottime
            if filename.endswith(CODEC_FILES):
                codec += tottime
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(top)
        cumulative = io.StringIO()
        pstats.Stats(profile, stream=cumulative).sort_stats("cumulative").print_stats(top)
        return {
            "busy_s": busy,
            "idle_s": idle,
            "codec_s": codec,
            "tottime": text.getvalue(),
            "cumulative": cumulative.getvalue(),
        }
