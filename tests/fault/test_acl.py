"""The emulated cloud's broker ACL (protocol.md §2.5, §2.6, §4): who may read and write what.

Two devices, A and B. B is a real `M2MSession`; A is a raw MQTT client logged in with A's own
DID and passcode, trying everything. Apps are the emulator's. Each test ends with a message
that *is* allowed from the same publisher; once it has arrived, anything the broker was going
to deliver has been delivered, so "nothing else arrived" is a real observation, and the
broker's log must list exactly the publishes it denied.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass, field

import aiomqtt
import pytest

from custom_components.gizwits_device.protocol.frame_codec import encode_frame
from custom_components.gizwits_device.protocol.frame_fields import FirmwareType
from custom_components.gizwits_device.protocol.frames import (
    AppPassthrough,
    DevicePassthrough,
    OnlineAppCount,
    OtaNotification,
)
from emulator import wire
from emulator.server import Emulator
from tests.conftest import PRODUCT_KEY
from tests.integration.helpers import wait_until

from .sessions import RunningSession, running_session

PASSCODE_A = "DeviceAPass1"
MAC_A = "0A0A0A0A0A0A"
MAC_B = "0B0B0B0B0B0B"


@dataclass
class RawDevice:
    """Device A: a plain MQTT client with A's credentials, recording what it receives."""

    did: str
    client: aiomqtt.Client
    received: list[tuple[str, bytes]] = field(default_factory=list)

    async def publish(self, topic: str, frame: object) -> None:
        await self.client.publish(topic, encode_frame(frame), qos=0)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def raw_device(emulator: Emulator) -> AsyncIterator[RawDevice]:
    device = emulator.state.register(PRODUCT_KEY, MAC_A, PASSCODE_A)
    await emulator.settle()
    async with aiomqtt.Client(
        emulator.broker.host,
        emulator.broker.port,
        identifier=device.did,
        username=device.did,
        password=PASSCODE_A,
        protocol=aiomqtt.ProtocolVersion.V31,
    ) as client:
        raw = RawDevice(device.did, client)

        async def read() -> None:
            async for message in client.messages:
                raw.received.append((str(message.topic), bytes(message.payload)))  # type: ignore[arg-type]

        reader = asyncio.create_task(read())
        try:
            yield raw
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


@pytest.fixture
async def devices(emulator: Emulator) -> AsyncIterator[tuple[RawDevice, RunningSession]]:
    async with running_session(emulator, mac=MAC_B) as b, raw_device(emulator) as a:
        # B's login-time 0x0210 first, so it is not mistaken for anything later.
        await wait_until(lambda: any(isinstance(r.frame, OnlineAppCount) for r in b.frames))
        yield a, b


async def _denied_topics(emulator: Emulator) -> list[tuple[str, str]]:
    return [(e.client_id, e.topic) for e in await emulator.take_denied_publishes()]


async def test_device_cannot_read_another_devices_topics(
    emulator: Emulator, devices: tuple[RawDevice, RunningSession]
) -> None:
    """A subscribes to B's app, cloud and app-bound topics: B's traffic reaches B and B's
    app, never A."""
    a, b = devices
    for topic in (
        f"app2dev/{b.did}/#",
        f"ser2cli_res/{b.did}",
        f"dev2app/{b.did}",
        f"dev2app/{b.did}/#",
        f"app2dev/{a.did}/#",
    ):
        await a.client.subscribe(topic, qos=0)
    app_b = await emulator.app(b.did)
    app_a = await emulator.app(a.did)

    await app_b.send_passthrough(b"to B")
    await wait_until(lambda: any(r.frame == AppPassthrough(b"to B") for r in b.frames))
    await emulator.cloud.push_online_apps(b.did, 5)
    await wait_until(lambda: any(r.frame == OnlineAppCount(5) for r in b.frames))
    await b.session.send_passthrough(b"from B")
    await app_b.wait_for(lambda r: r.frame.payload == b"from B")  # type: ignore[union-attr]

    sentinel = encode_frame(AppPassthrough(b"to A"))
    await app_a.send_raw(sentinel)
    await wait_until(lambda: (f"app2dev/{a.did}/{app_a.client_id}", sentinel) in a.received)
    assert a.received == [(f"app2dev/{a.did}/{app_a.client_id}", sentinel)]


async def test_device_cannot_write_another_devices_topics(
    emulator: Emulator, devices: tuple[RawDevice, RunningSession]
) -> None:
    """A publishing as B's apps, as B, or as the cloud to B: denied, nothing reaches B or
    B's app; A's own report still reaches A's app."""
    a, b = devices
    app_b = await emulator.app(b.did)
    app_a = await emulator.app(a.did)
    # The bind's 0x0210 (1 app) reaches B first: it is not one of A's.
    await wait_until(lambda: any(r.frame == OnlineAppCount(1) for r in b.frames))
    frames_before = len(b.frames)
    forged = {
        f"app2dev/{b.did}/{app_b.client_id}": AppPassthrough(b"\x01\x01\x01"),
        f"dev2app/{b.did}": DevicePassthrough(b"forged report"),
        f"dev2app/{b.did}/{app_b.client_id}": DevicePassthrough(b"forged reply"),
        f"ser2cli_res/{b.did}": OtaNotification(FirmwareType.MCU, 7, "http://127.0.0.1/x.bin"),
        f"ser2cli_noti/{PRODUCT_KEY}": OtaNotification(
            FirmwareType.WIFI, 8, "http://127.0.0.1/y.bin"
        ),
    }
    for topic, frame in forged.items():
        await a.publish(topic, frame)
    await a.publish(f"dev2app/{a.did}", DevicePassthrough(b"A's own report"))
    await app_a.wait_for(lambda r: r.frame == wire.DevicePassthrough(b"A's own report"))

    assert len(b.frames) == frames_before
    assert not [r for r in app_b.received if r.topic.startswith(f"dev2app/{b.did}")]
    denied = await _denied_topics(emulator)
    assert sorted(denied) == sorted((a.did, topic) for topic in forged)


async def test_app_cannot_publish_as_its_device(
    emulator: Emulator, devices: tuple[RawDevice, RunningSession]
) -> None:
    """An app publishing on the device's own topics (to all apps, to one app) or as the
    cloud: denied; the other app sees only what the device itself sent."""
    a, _ = devices
    app_a = await emulator.app(a.did)
    other_app = await emulator.app(a.did)
    await a.client.subscribe(f"app2dev/{a.did}/#", qos=0)
    await a.client.subscribe(f"ser2cli_res/{a.did}", qos=0)
    forged = {
        f"dev2app/{a.did}": encode_frame(DevicePassthrough(b"fake status")),
        f"dev2app/{a.did}/{other_app.client_id}": encode_frame(DevicePassthrough(b"fake reply")),
        f"ser2cli_res/{a.did}": encode_frame(OnlineAppCount(99)),
    }
    for topic, payload in forged.items():
        await app_a.link.publish(topic, payload)
    # A sentinel from the same app: once it arrives, its earlier publishes were handled.
    sentinel = encode_frame(AppPassthrough(b"after the forgeries"))
    await app_a.send_raw(sentinel)
    await wait_until(lambda: (f"app2dev/{a.did}/{app_a.client_id}", sentinel) in a.received)

    await a.publish(f"dev2app/{a.did}", DevicePassthrough(b"real status"))
    await other_app.wait_for(lambda r: r.frame == wire.DevicePassthrough(b"real status"))
    device_frames = [r.frame for r in other_app.received if r.topic.startswith("dev2app/")]
    assert device_frames == [wire.DevicePassthrough(b"real status")]
    # The cloud's own 0x0210s (apps bound) reach A; the app's forged one does not.
    assert forged[f"ser2cli_res/{a.did}"] not in [p for _, p in a.received]
    denied = await _denied_topics(emulator)
    assert sorted(denied) == sorted((app_a.client_id, topic) for topic in forged)
