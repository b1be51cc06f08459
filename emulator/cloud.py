"""The emulator's cloud agent: the M2M server side of protocol.md §4 (ser2cli topics).

It subscribes `ser2cli_req` and answers 0x020F (online-app count request) with 0x0210, and lets
the operator push 0x0210, 0x020E (OTA notification) and 0x0211 (OTA check notification) to one
device on `ser2cli_res/<did>`, or any frame to a product on `ser2cli_noti/<pk>`. Frames to devices
use the short form (protocol.md §3, §7).

Limitation: mosquitto does not tell a subscriber who published a message (and its log is buffered,
so it cannot be read live), so the agent cannot know which device sent a 0x020F. It answers every
0x020F by publishing each registered, enabled device its own count on `ser2cli_res/<did>`. A real
device only ever sees its own count, so this is invisible to it beyond an extra 0x0210 when another
device asks — which the protocol allows anyway (0x0210 is pushed on every change).

Online-app counts are tracked from the app simulators bound to each DID (`app_bound` /
`app_unbound` push the new count) unless the operator overrides a DID with `push_online_apps`.
It also records every device log (0x0012) seen on `dev2app/#`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
import logging

from custom_components.gizwits_device.protocol.frames import (
    DeviceLog,
    FirmwareType,
    Frame,
    FrameError,
    OnlineAppCount,
    OnlineAppsRequest,
    OtaCheckNotification,
    OtaNotification,
    decode_frame,
    encode_frame,
)
from emulator.lifecycle import Service
from emulator.mqtt import MqttLink

_LOGGER = logging.getLogger(__name__)

CLOUD_CLIENT_ID = "gizwits-emulator-cloud"
REQUEST_TOPIC = "ser2cli_req"


@dataclass(frozen=True, slots=True)
class SentFrame:
    """A frame the agent published (for tests and the operator API)."""

    topic: str
    frame: Frame


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
        client_id: str = CLOUD_CLIENT_ID,
    ) -> None:
        """`enabled_dids` lists the registered, enabled devices (asked on every 0x020F)."""
        self._enabled_dids = enabled_dids
        self._link = MqttLink(
            host,
            port,
            username=username,
            password=password,
            client_id=client_id,
            topics=(REQUEST_TOPIC, "dev2app/#"),
            on_message=self._on_message,
        )
        self._bound: dict[str, int] = {}
        self._override: dict[str, int] = {}
        self.online_app_requests = 0
        self._requests_changed = asyncio.Condition()
        self.sent: list[SentFrame] = []
        self.device_logs: list[tuple[str, DeviceLog]] = []
        self.undecodable: list[tuple[str, bytes, FrameError]] = []

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
        """Wait until at least `count` 0x020F requests have arrived in total."""
        async with asyncio.timeout(timeout), self._requests_changed:
            await self._requests_changed.wait_for(lambda: self.online_app_requests >= count)

    async def _push_count(self, did: str) -> None:
        await self.send(f"ser2cli_res/{did}", OnlineAppCount(self.online_apps(did)))

    # -- operator pushes ---------------------------------------------------------------------

    async def notify_ota(
        self, did: str, firmware_type: FirmwareType | int, target_fid: int, url: str
    ) -> None:
        """Push 0x020E (OTA notification, short form) to `did`."""
        frame = OtaNotification(FirmwareType(firmware_type), target_fid, url)
        await self.send(f"ser2cli_res/{did}", frame)

    async def notify_ota_check(self, did: str, firmware_type: FirmwareType | int) -> None:
        """Push 0x0211 (run the v4.1 OTA check, short form) to `did`."""
        await self.send(f"ser2cli_res/{did}", OtaCheckNotification(FirmwareType(firmware_type)))

    async def notify_product(self, product_key: str, frame: Frame) -> None:
        """Publish `frame` to every device of a product on `ser2cli_noti/<pk>`."""
        await self.send(f"ser2cli_noti/{product_key}", frame)

    async def send(self, topic: str, frame: Frame) -> None:
        """Encode `frame` in the form protocol.md §3 rules for it and publish it."""
        await self.send_raw(topic, encode_frame(frame))
        self.sent.append(SentFrame(topic, frame))

    async def send_raw(self, topic: str, payload: bytes) -> None:
        """Publish raw bytes (for bad-input tests)."""
        await self._link.publish(topic, payload)

    # -- incoming --------------------------------------------------------------------------

    async def _on_message(self, topic: str, payload: bytes) -> None:
        try:
            frame = decode_frame(payload)
        except FrameError as err:
            _LOGGER.debug("undecodable frame on %s: %s", topic, err)
            self.undecodable.append((topic, payload, err))
            return
        if topic == REQUEST_TOPIC:
            if isinstance(frame, OnlineAppsRequest):
                await self._answer_online_apps_request()
            return
        if isinstance(frame, DeviceLog):
            self.device_logs.append((topic, frame))

    async def _answer_online_apps_request(self) -> None:
        for did in list(self._enabled_dids()):
            await self._push_count(did)
        # Counted after answering, so a waiter knows the answers are on their way.
        async with self._requests_changed:
            self.online_app_requests += 1
            self._requests_changed.notify_all()
