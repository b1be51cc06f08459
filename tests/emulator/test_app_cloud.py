"""App simulator and cloud agent against raw aiomqtt "devices" on a real mosquitto.

The devices here speak bytes written out by hand (seed §3.1/§4, protocol.md §3, §4, §7), so these
tests check the emulator's own wire code, not a codec shared with the integration.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from pathlib import Path

import aiomqtt
import pytest

from emulator import wire
from emulator.app import AckError, AppSimulator
from emulator.broker import MosquittoBroker, app_acl, cloud_acl, device_acl
from emulator.cloud import CloudAgent
from emulator.p0 import DataPointCodec, ReadReply, ReadRequest

DID = "abcdefghijklmnopqrstuv"
OTHER_DID = "vutsrqponmlkjihgfedcba"
PASSCODE = "PASSCODE12"
PK = "0123456789abcdef0123456789abcdef"
APP_ID = "apptest01"
PLUG = Path(__file__).parents[2] / "custom_components/gizwits_device/products/smart_plug.json"
# protocol.md §7: GAgent's 0x020F is exactly these bytes (short form, no length, no flag).
ONLINE_APPS_REQUEST = bytes.fromhex("00000003 020f")


def count_frame(count: int) -> bytes:
    """0x0210 in the short form (protocol.md §3, §7: the count at bytes 6-7)."""
    return bytes.fromhex("00000003 0210") + count.to_bytes(2, "big")


class Device:
    """A bare device: the topics of protocol.md §2 step 6, raw bytes."""

    def __init__(self, client: aiomqtt.Client, did: str) -> None:
        self.client = client
        self.did = did

    async def next_raw(self, timeout: float = 10) -> tuple[str, bytes]:
        async with asyncio.timeout(timeout):
            async for message in self.client.messages:
                assert isinstance(message.payload, bytes)
                return str(message.topic), message.payload
        raise AssertionError("unreachable")

    async def next(self) -> tuple[str, wire.Frame]:
        topic, payload = await self.next_raw()
        return topic, wire.decode(payload)

    async def send(self, topic: str, frame: wire.Frame) -> None:
        await self.client.publish(topic, wire.encode(frame))


@contextlib.asynccontextmanager
async def device_client(broker: MosquittoBroker, did: str = DID) -> AsyncIterator[Device]:
    async with aiomqtt.Client(
        broker.host,
        broker.port,
        username=did,
        password=PASSCODE,
        identifier=did,
        protocol=aiomqtt.ProtocolVersion.V31,
    ) as client:
        for topic in (f"ser2cli_noti/{PK}", f"ser2cli_res/{did}", f"app2dev/{did}/#"):
            await client.subscribe(topic)
        yield Device(client, did)


@pytest.fixture
async def broker(mosquitto_broker: MosquittoBroker) -> MosquittoBroker:
    await mosquitto_broker.add_user(DID, PASSCODE, device_acl(DID, PK), reload=False)
    await mosquitto_broker.add_user(OTHER_DID, PASSCODE, device_acl(OTHER_DID, PK), reload=False)
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
        broker.host,
        broker.port,
        username="cloud",
        password="cloud-pw",
        enabled_dids=lambda: [DID, OTHER_DID],
        broker_log=broker.log,
    )


async def test_app_commands_reach_the_device(broker: MosquittoBroker) -> None:
    """protocol.md §4: 0x0090, 0x0093, 0x0010 go to app2dev/<did>/<app client id>, long form."""
    async with device_client(broker) as device, app_sim(broker) as app:
        topic = f"app2dev/{DID}/{APP_ID}"
        await app.send_passthrough(b"\x01\x02")
        assert await device.next_raw() == (topic, bytes.fromhex("00000003 05 00 0090 0102"))

        await app.send_acked(b"\x05", sn=7, wait=False)
        assert await device.next_raw() == (topic, bytes.fromhex("00000003 08 00 0093 00000007 05"))

        await app.set_log_level(0x0102, wait=False)
        assert await device.next_raw() == (topic, bytes.fromhex("00000003 05 00 0010 0102"))


async def test_send_acked_returns_the_ack_body(broker: MosquittoBroker) -> None:
    """protocol.md §4: the 0x0094 carries the device's answer (or nothing); matched by sn."""
    async with device_client(broker) as device, app_sim(broker) as app:
        for answer in (b"", b"\x03\x00\x02\xdc"):
            async with asyncio.TaskGroup() as tg:
                pending = tg.create_task(app.send_acked(b"\x02"))
                _, frame = await device.next()
                assert isinstance(frame, wire.AckedPassthrough)
                ack = bytes.fromhex("00000003") + bytes([7 + len(answer)])
                ack += b"\x00\x00\x94" + frame.sn.to_bytes(4, "big") + answer
                await device.client.publish(f"dev2app/{DID}/{APP_ID}", ack)
            assert pending.result() == answer
        assert app.ack_errors == []


async def test_send_acked_refuses_a_wrong_sn_or_topic(broker: MosquittoBroker) -> None:
    async with device_client(broker) as device, app_sim(broker) as app:
        pending = asyncio.create_task(app.send_acked(b"\x02", sn=10))
        await device.next()
        await device.send(f"dev2app/{DID}/{APP_ID}", wire.PassthroughAck(11))
        with pytest.raises(AckError, match="sn 11"):
            await pending

        pending = asyncio.create_task(app.send_acked(b"\x02", sn=12))
        await device.next()
        # An ack belongs on the asking app's own topic, not the all-apps one.
        await device.send(f"dev2app/{DID}", wire.PassthroughAck(12))
        with pytest.raises(AckError, match=f"dev2app/{DID},"):
            await pending
        assert len(app.ack_errors) == 2

        with pytest.raises(TimeoutError, match="sn 13"):
            await app.send_acked(b"\x02", sn=13, timeout=0.2)


async def test_read_answered_inside_the_ack(broker: MosquittoBroker) -> None:
    """protocol.md §4/§8: a P0 read sent as 0x0093 is answered by `0094 | sn | 03 status`."""
    codec = DataPointCodec.from_definition(PLUG.read_bytes())
    status = {"switch": True, "countdown": 5, "power": 732, "energy": 2205, "overload": False}
    async with device_client(broker) as device, app_sim(broker) as app:
        async with asyncio.TaskGroup() as tg:
            pending = tg.create_task(app.read(codec, acked=True))
            _, frame = await device.next()
            assert isinstance(frame, wire.AckedPassthrough)
            assert frame.payload == b"\x02"
            assert codec.decode(frame.payload) == ReadRequest()
            reply = codec.encode(ReadReply(status))
            await device.send(f"dev2app/{DID}/{APP_ID}", wire.PassthroughAck(frame.sn, reply))
        assert pending.result() == ReadReply(status)

        # An empty 0x0094 is not an answer to a read.
        pending = asyncio.create_task(app.read(codec, acked=True))
        _, frame = await device.next()
        assert isinstance(frame, wire.AckedPassthrough)
        await device.send(f"dev2app/{DID}/{APP_ID}", wire.PassthroughAck(frame.sn))
        with pytest.raises(AckError, match="not a P0 read reply"):
            await pending


async def test_set_log_level_waits_for_confirm(broker: MosquittoBroker) -> None:
    async with device_client(broker) as device, app_sim(broker) as app:
        async with asyncio.TaskGroup() as tg:
            pending = tg.create_task(app.set_log_level(1))
            assert (await device.next())[1] == wire.SetLogLevel(1)
            confirm = bytes.fromhex("00000003 03 00 0011")
            await device.client.publish(f"dev2app/{DID}/{APP_ID}", confirm)
        assert pending.result() == wire.LogLevelConfirm()


async def test_app_receives_device_frames_and_auto_acks(broker: MosquittoBroker) -> None:
    async with device_client(broker) as device, app_sim(broker) as app:
        await device.client.publish(f"dev2app/{DID}", bytes.fromhex("00000003 05 00 0091 0400"))
        got = await app.wait_for(wire.DevicePassthrough)
        assert (got.topic, got.frame) == (f"dev2app/{DID}", wire.DevicePassthrough(b"\x04\x00"))

        log = bytes.fromhex("00000003 15 00 0012 03 0003") + b"tag" + b"\x00\x03src\x00\x05hello"
        await device.client.publish(f"dev2app/{DID}", log)
        got = await app.wait_for(wire.DeviceLog)
        assert got.frame == wire.DeviceLog(3, "tag", "src", "hello")

        await device.send(f"dev2app/{DID}", wire.AckedPassthrough(0xFFFFFFFF, b"x"))
        assert await device.next_raw() == (
            f"app2dev/{DID}/{APP_ID}",
            bytes.fromhex("00000003 07 00 0094 ffffffff"),
        )
        got = await app.wait_for(wire.AckedPassthrough)
        assert got.frame == wire.AckedPassthrough(0xFFFFFFFF, b"x")
        assert app.received[0].frame == wire.DevicePassthrough(b"\x04\x00")


async def test_auto_ack_off_and_undecodable_frames(broker: MosquittoBroker) -> None:
    async with device_client(broker) as device, app_sim(broker, auto_ack=False) as app:
        await device.client.publish(f"dev2app/{DID}", b"\x00\x00\x00\x04garbage")
        await device.send(f"dev2app/{DID}", wire.AckedPassthrough(1, b""))
        await device.send(f"dev2app/{DID}/{APP_ID}", wire.LogLevelConfirm())
        await app.wait_for(wire.LogLevelConfirm)
        assert len(app.undecodable) == 1
        assert app.undecodable[0].payload == b"\x00\x00\x00\x04garbage"
        assert app.acks_sent == []


async def test_online_apps_request_is_answered_to_the_asking_device_only(
    broker: MosquittoBroker,
) -> None:
    """protocol.md §4: 0x020F on cli2ser_req → 0x0210 on ser2cli_res/<that DID> (short form)."""
    async with (
        cloud(broker) as agent,
        device_client(broker) as device,
        device_client(broker, OTHER_DID) as other,
    ):
        await agent.push_online_apps(DID, 3)
        assert await device.next_raw() == (f"ser2cli_res/{DID}", count_frame(3))
        await device.client.publish("cli2ser_req", ONLINE_APPS_REQUEST)
        assert await device.next_raw() == (f"ser2cli_res/{DID}", count_frame(3))
        # The long form is accepted too (protocol.md §3: a receiver accepts both).
        await other.client.publish("cli2ser_req", bytes.fromhex("00000003 03 00 020f"))
        assert await other.next_raw() == (f"ser2cli_res/{OTHER_DID}", count_frame(0))
        await agent.wait_online_app_requests(2)
        assert [r.client_id for r in agent.requests] == [DID, OTHER_DID]
        # Neither device got the other's answer: the next frame each sees is a fresh push.
        await agent.push_online_apps(DID, 4)
        await agent.push_online_apps(OTHER_DID, 5)
        assert await device.next_raw() == (f"ser2cli_res/{DID}", count_frame(4))
        assert await other.next_raw() == (f"ser2cli_res/{OTHER_DID}", count_frame(5))


async def test_online_apps_request_on_ser2cli_req_is_denied_and_unanswered(
    broker: MosquittoBroker,
) -> None:
    """protocol.md §4 ruling: a device publishing to ser2cli_req is never answered."""
    async with cloud(broker) as agent, device_client(broker) as device:
        await device.client.publish("ser2cli_req", ONLINE_APPS_REQUEST)
        await broker.sync_log()
        assert [(e.client_id, e.topic) for e in broker.log.take_denied()] == [(DID, "ser2cli_req")]
        with pytest.raises(TimeoutError):
            await device.next_raw(timeout=0.5)
        assert agent.requests == []


async def test_operator_pushes_use_short_form(broker: MosquittoBroker) -> None:
    async with cloud(broker) as agent, device_client(broker) as device:
        await agent.notify_ota(DID, 2, 1234, "http://x/fw")
        assert await device.next_raw() == (
            f"ser2cli_res/{DID}",
            bytes.fromhex("00000003 020e 02 000004d2 000b") + b"http://x/fw",
        )
        await agent.notify_ota_check(DID, 1)
        assert await device.next_raw() == (f"ser2cli_res/{DID}", bytes.fromhex("00000003 0211 01"))
        await agent.notify_product(PK, wire.OnlineAppCount(9))
        assert await device.next_raw() == (f"ser2cli_noti/{PK}", count_frame(9))


async def test_bound_apps_are_counted(broker: MosquittoBroker) -> None:
    async with cloud(broker) as agent, device_client(broker) as device:
        await agent.app_bound(DID)
        assert (await device.next())[1] == wire.OnlineAppCount(1)
        await agent.app_bound(DID)
        assert (await device.next())[1] == wire.OnlineAppCount(2)
        await agent.push_online_apps(DID, 7)
        assert (await device.next())[1] == wire.OnlineAppCount(7)
        await agent.app_unbound(DID)
        assert (await device.next())[1] == wire.OnlineAppCount(7)
        await agent.push_online_apps(DID, None)
        assert (await device.next())[1] == wire.OnlineAppCount(1)
        await device.send(f"dev2app/{DID}", wire.DeviceLog(1, "t", "s", "c"))
        await device.send("cli2ser_req", wire.OnlineAppsRequest())
        await agent.wait_online_app_requests(1)
        assert agent.device_logs == [(f"dev2app/{DID}", wire.DeviceLog(1, "t", "s", "c"))]
