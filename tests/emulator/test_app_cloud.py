"""App simulator and cloud agent against a raw aiomqtt "device" on a real mosquitto."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib

import aiomqtt
import pytest

from custom_components.gizwits_device.protocol.frames import (
    AckedPassthrough,
    AppPassthrough,
    DeviceLog,
    DevicePassthrough,
    FirmwareType,
    Frame,
    LogLevel,
    LogLevelConfirm,
    OnlineAppCount,
    OnlineAppsRequest,
    OtaCheckNotification,
    OtaNotification,
    PassthroughAck,
    SetLogLevel,
    decode_frame,
    encode_frame,
)
from emulator.app import AppSimulator
from emulator.broker import MosquittoBroker, app_acl, cloud_acl, device_acl
from emulator.cloud import CloudAgent

DID = "abcdefghijklmnopqrstuv"
PASSCODE = "PASSCODE12"
PK = "0123456789abcdef0123456789abcdef"
APP_ID = "apptest01"


class Device:
    """A bare device: the topics of protocol.md §2 step 6, raw frames."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client

    async def next_raw(self) -> tuple[str, bytes]:
        async with asyncio.timeout(10):
            async for message in self.client.messages:
                assert isinstance(message.payload, bytes)
                return str(message.topic), message.payload
        raise AssertionError("unreachable")

    async def next(self) -> tuple[str, Frame]:
        topic, payload = await self.next_raw()
        return topic, decode_frame(payload)

    async def send(self, topic: str, frame: Frame) -> None:
        await self.client.publish(topic, encode_frame(frame))


@contextlib.asynccontextmanager
async def device_client(broker: MosquittoBroker) -> AsyncIterator[Device]:
    async with aiomqtt.Client(
        broker.host,
        broker.port,
        username=DID,
        password=PASSCODE,
        identifier=DID,
        protocol=aiomqtt.ProtocolVersion.V31,
    ) as client:
        for topic in (f"ser2cli_noti/{PK}", f"ser2cli_res/{DID}", f"app2dev/{DID}/#"):
            await client.subscribe(topic)
        yield Device(client)


@pytest.fixture
async def broker(mosquitto_broker: MosquittoBroker) -> MosquittoBroker:
    await mosquitto_broker.add_user(DID, PASSCODE, device_acl(DID, PK), reload=False)
    await mosquitto_broker.add_user(APP_ID, "app-pw", app_acl(DID, APP_ID), reload=False)
    await mosquitto_broker.add_user("cloud", "cloud-pw", cloud_acl())
    return mosquitto_broker


@contextlib.asynccontextmanager
async def app_sim(broker: MosquittoBroker, **kwargs: bool) -> AsyncIterator[AppSimulator]:
    async with AppSimulator(
        broker.host,
        broker.port,
        DID,
        username=APP_ID,
        password="app-pw",
        client_id=APP_ID,
        **kwargs,  # type: ignore[arg-type]
    ) as app:
        yield app


def cloud(broker: MosquittoBroker) -> CloudAgent:
    return CloudAgent(
        broker.host, broker.port, username="cloud", password="cloud-pw", enabled_dids=lambda: [DID]
    )


async def test_app_commands_reach_the_device(broker: MosquittoBroker) -> None:
    """protocol.md §4: 0x0090, 0x0093, 0x0010 go to app2dev/<did>/<app client id>."""
    async with device_client(broker) as device, app_sim(broker) as app:
        topic = f"app2dev/{DID}/{APP_ID}"
        await app.send_passthrough(b"\x01\x02")
        assert await device.next() == (topic, AppPassthrough(b"\x01\x02"))

        await app.send_acked(b"\x05", sn=7, wait=False)
        assert await device.next() == (topic, AckedPassthrough(7, b"\x05"))

        await app.set_log_level(0x0102, wait=False)
        assert await device.next() == (topic, SetLogLevel(0x0102))


async def test_send_acked_waits_for_the_device_ack(broker: MosquittoBroker) -> None:
    async with device_client(broker) as device, app_sim(broker) as app:
        async with asyncio.TaskGroup() as tg:
            pending = tg.create_task(app.send_acked(b"hi"))
            _, frame = await device.next()
            assert isinstance(frame, AckedPassthrough)
            await device.send(f"dev2app/{DID}/{APP_ID}", PassthroughAck(frame.sn, b"ok"))
        assert pending.result() == PassthroughAck(frame.sn, b"ok")


async def test_set_log_level_waits_for_confirm(broker: MosquittoBroker) -> None:
    async with device_client(broker) as device, app_sim(broker) as app:
        async with asyncio.TaskGroup() as tg:
            pending = tg.create_task(app.set_log_level(1))
            assert (await device.next())[1] == SetLogLevel(1)
            await device.send(f"dev2app/{DID}/{APP_ID}", LogLevelConfirm())
        assert pending.result() == LogLevelConfirm()


async def test_app_receives_device_frames_and_auto_acks(broker: MosquittoBroker) -> None:
    async with device_client(broker) as device, app_sim(broker) as app:
        await device.send(f"dev2app/{DID}", DevicePassthrough(b"\x04\x00"))
        got = await app.wait_for(DevicePassthrough)
        assert (got.topic, got.frame) == (f"dev2app/{DID}", DevicePassthrough(b"\x04\x00"))

        log = DeviceLog(LogLevel(3), "tag", "src", "hello")
        await device.send(f"dev2app/{DID}", log)
        assert (await app.wait_for(DeviceLog)).frame == log

        await device.send(f"dev2app/{DID}", AckedPassthrough(0xFFFFFFFF, b"x"))
        assert await device.next() == (f"app2dev/{DID}/{APP_ID}", PassthroughAck(0xFFFFFFFF))
        assert (await app.wait_for(AckedPassthrough)).frame == AckedPassthrough(0xFFFFFFFF, b"x")
        assert app.received[0].frame == DevicePassthrough(b"\x04\x00")


async def test_auto_ack_off_and_undecodable_frames(broker: MosquittoBroker) -> None:
    async with device_client(broker) as device, app_sim(broker, auto_ack=False) as app:
        await device.client.publish(f"dev2app/{DID}", b"\x00\x00\x00\x04garbage")
        await device.send(f"dev2app/{DID}", AckedPassthrough(1, b""))
        await device.send(f"dev2app/{DID}/{APP_ID}", PassthroughAck(5))
        assert (await app.wait_for(PassthroughAck)).frame == PassthroughAck(5)
        assert len(app.undecodable) == 1
        assert app.undecodable[0].payload == b"\x00\x00\x00\x04garbage"
        assert app.acks_sent == []


async def test_online_apps_request_is_answered(broker: MosquittoBroker) -> None:
    """protocol.md §4/§7: 0x020F (short form) on ser2cli_req → 0x0210 on ser2cli_res/<did>."""
    async with cloud(broker) as agent, device_client(broker) as device:
        await agent.push_online_apps(DID, 3)
        assert await device.next() == (f"ser2cli_res/{DID}", OnlineAppCount(3))
        await device.client.publish("ser2cli_req", b"\x00\x00\x00\x03\x02\x0f")
        assert await device.next() == (f"ser2cli_res/{DID}", OnlineAppCount(3))
        await device.send("ser2cli_req", OnlineAppsRequest())
        await agent.wait_online_app_requests(2)
        assert await device.next() == (f"ser2cli_res/{DID}", OnlineAppCount(3))


async def test_operator_pushes_use_short_form(broker: MosquittoBroker) -> None:
    async with cloud(broker) as agent, device_client(broker) as device:
        await agent.notify_ota(DID, 2, 1234, "http://x/fw")
        topic, raw = await device.next_raw()
        assert topic == f"ser2cli_res/{DID}"
        assert raw == bytes.fromhex("00000003 020e 02 000004d2 000b") + b"http://x/fw"
        assert decode_frame(raw) == OtaNotification(FirmwareType(2), 1234, "http://x/fw")
        await agent.notify_ota_check(DID, FirmwareType(1))
        assert await device.next() == (f"ser2cli_res/{DID}", OtaCheckNotification(FirmwareType(1)))
        await agent.notify_product(PK, OnlineAppCount(9))
        assert await device.next() == (f"ser2cli_noti/{PK}", OnlineAppCount(9))


async def test_bound_apps_are_counted(broker: MosquittoBroker) -> None:
    async with cloud(broker) as agent, device_client(broker) as device:
        await agent.app_bound(DID)
        assert (await device.next())[1] == OnlineAppCount(1)
        await agent.app_bound(DID)
        assert (await device.next())[1] == OnlineAppCount(2)
        await agent.push_online_apps(DID, 7)
        assert (await device.next())[1] == OnlineAppCount(7)
        await agent.app_unbound(DID)
        assert (await device.next())[1] == OnlineAppCount(7)
        await agent.push_online_apps(DID, None)
        assert (await device.next())[1] == OnlineAppCount(1)
        await device.send(f"dev2app/{DID}", DeviceLog(LogLevel(1), "t", "s", "c"))
        await device.send("ser2cli_req", OnlineAppsRequest())
        await agent.wait_online_app_requests(1)
        assert agent.device_logs == [(f"dev2app/{DID}", DeviceLog(LogLevel(1), "t", "s", "c"))]
