"""The emulator's cloud agent: the M2M server side of the device protocol (seed §4).

A device asks for its online-app count by publishing 0x020F on `cli2ser_req` (what every Gizwits
firmware does; the seed's `ser2cli_req` is a typo and a device may not publish there). The agent
answers with 0x0210 on `ser2cli_res/<DID>` of the device that asked, and only to it: MQTT does
not name a message's publisher, so the agent reads it from the broker's log (`BrokerLog`). A
0x020F on any other topic is never answered.

The operator can push 0x0210, 0x020E (OTA notification) and 0x0211 (OTA check notification) to
one device on `ser2cli_res/<did>`, or any frame to a product on `ser2cli_noti/<pk>`. Frames to
devices use the short form their tables show (seed §3.1, GAgent).

Online-app counts follow the app simulators bound to each DID (`app_bound` / `app_unbound` push
the new count) unless the operator overrides a DID with `push_online_apps`. Device logs (0x0012)
seen on `dev2app/#` are recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
import logging

from emulator import wire
from emulator.brokerlog import BrokerLog
from emulator.lifecycle import Service
from emulator.mqtt import BrokerLogin, MqttLink

_LOGGER = logging.getLogger(__name__)

CLOUD_CLIENT_ID = "gizwits-emulator-cloud"


@dataclass(frozen=True, slots=True)
class SentFrame:
    """A frame the agent published (for tests and the operator API)."""

    topic: str
    frame: wire.Frame


@dataclass(frozen=True, slots=True)
class CloudRequest:
    """A message a device published on `cli2ser_req`, with its publisher and raw bytes."""

    client_id: str | None
    payload: bytes
    frame: wire.Frame | None


class CloudAgent(Service):
    """MQTT client playing the Gizwits M2M server; async context manager."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str,
        password: str,
        enabled_dids: Callable[[], Iterable[str]],
        broker_log: BrokerLog,
        client_id: str = CLOUD_CLIENT_ID,
    ) -> None:
        """`enabled_dids`: registered, enabled devices; `broker_log`: who published what."""
        self._enabled_dids = enabled_dids
        self._broker_log = broker_log
        broker_log.watch(wire.CLI2SER_REQ, client_id)
        self._link = MqttLink(
            BrokerLogin(host, port, username, password),
            client_id=client_id,
            topics=(wire.CLI2SER_REQ, "dev2app/#"),
            on_message=self._on_message,
        )
        self._bound: dict[str, int] = {}
        self._override: dict[str, int] = {}
        self.requests: list[CloudRequest] = []
        self._requests_changed = asyncio.Condition()
        self.sent: list[SentFrame] = []
        self.device_logs: list[tuple[str, wire.DeviceLog]] = []
        self.undecodable: list[tuple[str, bytes, wire.WireError]] = []

    async def start(self) -> None:
        """Connect and subscribe."""
        await self._link.start()

    async def stop(self) -> None:
        """Disconnect."""
        await self._link.stop()

    @property
    def link(self) -> MqttLink:
        """The underlying MQTT link (connection state, reconnect count)."""
        return self._link

    # -- online app count ------------------------------------------------------------------

    @property
    def online_app_requests(self) -> int:
        """How many 0x020F requests arrived on `cli2ser_req` (answered or not)."""
        return sum(isinstance(r.frame, wire.OnlineAppsRequest) for r in self.requests)

    def online_apps(self, did: str) -> int:
        """The count the device is told: the operator override, else the bound simulators."""
        if did in self._override:
            return self._override[did]
        return self._bound.get(did, 0)

    async def app_bound(self, did: str) -> None:
        """An app simulator bound `did`: count +1 and push it."""
        self._bound[did] = self._bound.get(did, 0) + 1
        await self._push_count(did)

    async def app_unbound(self, did: str) -> None:
        """An app simulator bound to `did` closed: count -1 and push it."""
        self._bound[did] = max(0, self._bound.get(did, 0) - 1)
        await self._push_count(did)

    async def push_online_apps(self, did: str, count: int | None) -> None:
        """Operator: fix `did`'s count at `count` (None: back to tracking) and push 0x0210."""
        if count is None:
            self._override.pop(did, None)
        else:
            if not 0 <= count <= 0xFFFF:
                raise ValueError(f"online app count {count} out of range")
            self._override[did] = count
        await self._push_count(did)

    async def wait_online_app_requests(
        self,
        count: int,
        timeout: float = 10,  # noqa: ASYNC109
    ) -> None:
        """Wait until at least `count` 0x020F requests have arrived (and been answered)."""
        async with asyncio.timeout(timeout), self._requests_changed:
            await self._requests_changed.wait_for(lambda: self.online_app_requests >= count)

    async def _push_count(self, did: str) -> None:
        await self.send(wire.ser2cli_res(did), wire.OnlineAppCount(self.online_apps(did)))

    # -- operator pushes ---------------------------------------------------------------------

    async def notify_ota(self, did: str, firmware_type: int, target_fid: int, url: str) -> None:
        """Push 0x020E (OTA notification, short form) to `did`."""
        frame = wire.OtaNotification(int(firmware_type), target_fid, url)
        await self.send(wire.ser2cli_res(did), frame)

    async def notify_ota_check(self, did: str, firmware_type: int) -> None:
        """Push 0x0211 (run the v4.1 OTA check, short form) to `did`."""
        await self.send(wire.ser2cli_res(did), wire.OtaCheckNotification(int(firmware_type)))

    async def notify_product(self, product_key: str, frame: wire.Frame) -> None:
        """Publish `frame` to every device of a product on `ser2cli_noti/<pk>`."""
        await self.send(wire.ser2cli_noti(product_key), frame)

    async def send(self, topic: str, frame: wire.Frame) -> None:
        """Encode `frame` in the form its command's table shows and publish it."""
        await self.send_raw(topic, wire.encode(frame))
        self.sent.append(SentFrame(topic, frame))

    async def send_raw(self, topic: str, payload: bytes) -> None:
        """Publish raw bytes (for bad-input tests)."""
        await self._link.publish(topic, payload)

    # -- incoming --------------------------------------------------------------------------

    async def _on_message(self, topic: str, payload: bytes) -> None:
        frame: wire.Frame | None = None
        try:
            frame = wire.decode(payload)
        except wire.WireError as err:
            _LOGGER.debug("undecodable frame on %s: %s", topic, err)
            self.undecodable.append((topic, payload, err))
        if topic == wire.CLI2SER_REQ:
            await self._on_request(payload, frame)
        elif isinstance(frame, wire.DeviceLog):
            self.device_logs.append((topic, frame))

    async def _on_request(self, payload: bytes, frame: wire.Frame | None) -> None:
        sender = await self._broker_log.publisher_of(wire.CLI2SER_REQ, len(payload))
        if isinstance(frame, wire.OnlineAppsRequest):
            if sender is not None and sender in set(self._enabled_dids()):
                await self._push_count(sender)
            else:
                _LOGGER.warning("0x020F from %s, not an enabled device: not answered", sender)
        # Counted after answering, so a waiter knows the answer is on its way.
        async with self._requests_changed:
            self.requests.append(CloudRequest(sender, payload, frame))
            self._requests_changed.notify_all()
