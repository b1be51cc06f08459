"""The composed Emulator: GService registration feeds the broker, apps, operator HTTP routes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from pathlib import Path
from urllib.parse import parse_qsl

import aiohttp
import aiomqtt
import pytest

from emulator.broker import probe_connect
from emulator.server import Emulator
from emulator.wire import (
    AppPassthrough,
    DevicePassthrough,
    Frame,
    OnlineAppCount,
    OtaCheckNotification,
    OtaNotification,
    decode,
    encode,
)
from tests.conftest import PRODUCT_KEY, fail_on_denied_publishes

MAC = "AABBCCDDEEFF"
PASSCODE = "ABCDEFGHIJ"


async def register(emu: Emulator, session: aiohttp.ClientSession, mac: str = MAC) -> str:
    """protocol.md §7: POST /dev/devices → 201 did=…"""
    async with session.post(
        f"{emu.gservice_url}/dev/devices",
        data={"passcode": PASSCODE, "mac": mac, "product_key": PRODUCT_KEY},
    ) as resp:
        assert resp.status == 201
        return dict(parse_qsl(await resp.text()))["did"]


class Device:
    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client

    async def next(self) -> tuple[str, Frame]:
        async with asyncio.timeout(10):
            async for message in self.client.messages:
                assert isinstance(message.payload, bytes)
                return str(message.topic), decode(message.payload)
        raise AssertionError("unreachable")


@contextlib.asynccontextmanager
async def device(emu: Emulator, did: str) -> AsyncIterator[Device]:
    async with aiomqtt.Client(
        emu.state.m2m_host,
        emu.state.m2m_port,
        username=did,
        password=PASSCODE,
        identifier=did,
        protocol=aiomqtt.ProtocolVersion.V31,
    ) as client:
        for topic in (f"ser2cli_noti/{PRODUCT_KEY}", f"ser2cli_res/{did}", f"app2dev/{did}/#"):
            await client.subscribe(topic)
        yield Device(client)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_registered_device_connects_and_disabled_one_is_dropped(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    """protocol.md §2: register → connect with DID/passcode; disable → session dropped."""
    did = await register(emulator, http)
    async with device(emulator, did) as dev:
        async with http.delete(
            f"{emulator.gservice_url}/dev/devices", data={"did": did, "passcode": PASSCODE}
        ) as resp:
            assert resp.status == 200
        with pytest.raises(aiomqtt.MqttError):
            await dev.next()
    assert await probe_connect(emulator.broker.host, emulator.broker.port, did, PASSCODE) in (4, 5)


async def test_app_binding_counts_and_round_trip(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    did = await register(emulator, http)
    async with device(emulator, did) as dev:
        app = await emulator.app(did)
        assert await dev.next() == (f"ser2cli_res/{did}", OnlineAppCount(1))
        await app.send_passthrough(b"\x02")
        assert await dev.next() == (f"app2dev/{did}/{app.client_id}", AppPassthrough(b"\x02"))
        await dev.client.publish(f"dev2app/{did}", encode(DevicePassthrough(b"\x03")))
        assert (await app.wait_for(DevicePassthrough)).frame == DevicePassthrough(b"\x03")
        await app.close()
        assert await dev.next() == (f"ser2cli_res/{did}", OnlineAppCount(0))


async def test_online_apps_request_is_answered_to_its_device(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    """protocol.md §4, §7: `00000003 020f` on cli2ser_req → 0x0210 to the asking DID only."""
    did = await register(emulator, http)
    other_did = await register(emulator, http, mac="112233445566")
    async with device(emulator, did) as dev, device(emulator, other_did) as other:
        await emulator.cloud.push_online_apps(did, 2)
        assert await dev.next() == (f"ser2cli_res/{did}", OnlineAppCount(2))
        await other.client.publish("cli2ser_req", bytes.fromhex("00000003 020f"))
        assert await other.next() == (f"ser2cli_res/{other_did}", OnlineAppCount(0))
        await dev.client.publish("cli2ser_req", bytes.fromhex("00000003 020f"))
        assert await dev.next() == (f"ser2cli_res/{did}", OnlineAppCount(2))
        assert [r.client_id for r in emulator.cloud.requests] == [other_did, did]


async def test_denied_publishes_are_reported(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    """The real cloud's ACL: a device writes only dev2app/<its DID>[/…] and cli2ser_req."""
    did = await register(emulator, http)
    other_did = await register(emulator, http, mac="112233445566")
    app = await emulator.app(did)
    async with device(emulator, did) as dev:
        await dev.client.publish(f"dev2app/{other_did}", b"x")
        await dev.client.publish(f"dev2app/{other_did}/{app.client_id}", b"x")
        await dev.client.publish("ser2cli_req", bytes.fromhex("00000003 020f"))
        await dev.client.publish(f"app2dev/{did}/{app.client_id}", b"x")
        await dev.client.publish(f"dev2app/{did}/{app.client_id}/deeper", b"allowed")
        # An app cannot speak as the device.
        await app.link.publish(f"dev2app/{did}", b"forged")
        # QoS 0 publishes may still sit in the clients' buffers: wait for the broker to log them.
        async with asyncio.timeout(10):
            while len(emulator.broker.log.denied) < 5:
                await emulator.broker.sync_log()
        denied = await emulator.take_denied_publishes()
    assert sorted((e.client_id, e.topic) for e in denied) == sorted(
        [
            (did, f"dev2app/{other_did}"),
            (did, f"dev2app/{other_did}/{app.client_id}"),
            (did, "ser2cli_req"),
            (did, f"app2dev/{did}/{app.client_id}"),
            (app.client_id, f"dev2app/{did}"),
        ]
    )
    assert await emulator.take_denied_publishes() == []


async def test_a_denied_device_publish_fails_the_test(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    """What the emulator fixture runs at teardown: a denied publish fails, naming the topic."""
    did = await register(emulator, http)
    async with device(emulator, did) as dev:
        await dev.client.publish("ser2cli_req", bytes.fromhex("00000003 020f"), qos=1)
    with pytest.raises(pytest.fail.Exception, match=f"{did} -> 'ser2cli_req'"):
        await fail_on_denied_publishes(emulator)
    await fail_on_denied_publishes(emulator)  # taken: nothing left to fail on


async def test_operator_routes_push_to_the_device(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    did = await register(emulator, http)
    base = f"{emulator.gservice_url}/emulator/devices/{did}"
    async with device(emulator, did) as dev:
        async with http.post(f"{base}/online_apps", json={"count": 4}) as resp:
            assert resp.status == 200
        assert await dev.next() == (f"ser2cli_res/{did}", OnlineAppCount(4))
        body = {"firmware_type": 1, "target_fid": 77, "url": "http://127.0.0.1/fw"}
        async with http.post(f"{base}/ota_notify", json=body) as resp:
            assert resp.status == 200
        assert (await dev.next())[1] == OtaNotification(1, 77, "http://127.0.0.1/fw")
        async with http.post(f"{base}/ota_check_notify", json={"firmware_type": 2}) as resp:
            assert resp.status == 200
        assert (await dev.next())[1] == OtaCheckNotification(2)
        async with http.post(f"{emulator.gservice_url}/emulator/devices/nope/online_apps") as resp:
            assert resp.status == 404
        async with http.get(f"{emulator.gservice_url}/emulator/m2m/info") as resp:
            info = await resp.json()
        assert info["mqtt_port"] == emulator.broker.port
        assert info["online_apps"] == {did: 4}


async def test_remote_app_credentials(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    did = await register(emulator, http)
    base = f"{emulator.gservice_url}/emulator/devices/{did}"
    async with device(emulator, did) as dev:
        async with http.post(f"{base}/apps", json={"client_id": "cliapp1"}) as resp:
            assert resp.status == 201
            creds = await resp.json()
        assert await dev.next() == (f"ser2cli_res/{did}", OnlineAppCount(1))
        assert (
            await probe_connect(
                creds["mqtt_host"], creds["mqtt_port"], creds["username"], creds["password"]
            )
            == 0
        )
        async with http.delete(f"{base}/apps/cliapp1") as resp:
            assert resp.status == 204
        assert await dev.next() == (f"ser2cli_res/{did}", OnlineAppCount(0))


async def test_devices_persist_in_state_dir(socket_enabled: None, tmp_path: Path) -> None:
    state_dir = tmp_path
    async with (
        Emulator(product_keys=[PRODUCT_KEY], state_dir=state_dir) as emu,
        aiohttp.ClientSession() as session,
    ):
        did = await register(emu, session)
    async with Emulator(state_dir=state_dir) as emu:
        assert emu.state.devices[did].passcode == PASSCODE
        assert PRODUCT_KEY in emu.state.products
        assert await probe_connect(emu.broker.host, emu.broker.port, did, PASSCODE) == 0


async def test_cloud_and_apps_reconnect_after_broker_restart(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    did = await register(emulator, http)
    app = await emulator.app(did)
    links = (emulator.cloud.link, app.link)
    before = [link.connect_count for link in links]
    await emulator.broker.restart()
    # Both links notice the drop and resubscribe on their own (their retry loop).
    async with asyncio.timeout(30):
        while not all(
            link.connected and link.connect_count > n for link, n in zip(links, before, strict=True)
        ):
            await asyncio.sleep(0.05)
    async with device(emulator, did) as dev:
        await emulator.cloud.push_online_apps(did, 2)
        assert await dev.next() == (f"ser2cli_res/{did}", OnlineAppCount(2))
        await app.send_passthrough(b"\x09")
        assert await dev.next() == (f"app2dev/{did}/{app.client_id}", AppPassthrough(b"\x09"))


async def test_stop_while_paused_and_changes_while_paused(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    """Heartbeat-loss tests pause the broker; user changes then apply on resume."""
    did = await register(emulator, http)
    emulator.broker.pause()
    await emulator.broker.add_user("late", "late-pw", ["topic read x"])
    emulator.broker.resume()
    await emulator.broker.reload()
    assert await probe_connect(emulator.broker.host, emulator.broker.port, "late", "late-pw") == 0
    await emulator.app(did)
    emulator.broker.pause()
    # The emulator fixture's teardown stops it while paused (app close included).
