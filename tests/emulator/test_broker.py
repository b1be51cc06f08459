"""The bare mosquitto fixture: auth, ACL, reload, kicking on user removal, pause/resume."""

from __future__ import annotations

import asyncio

import aiomqtt
import pytest

from emulator.broker import MosquittoBroker, device_acl, probe_connect
from tests.conftest import BROKER_PASSWORD, BROKER_USER

DID = "abcdefghijklmnopqrstuv"
OTHER_DID = "vutsrqponmlkjihgfedcba"
PK = "0123456789abcdef0123456789abcdef"


def client(broker: MosquittoBroker, user: str, password: str, client_id: str) -> aiomqtt.Client:
    return aiomqtt.Client(
        broker.host,
        broker.port,
        username=user,
        password=password,
        identifier=client_id,
        protocol=aiomqtt.ProtocolVersion.V31,
    )


async def next_message(c: aiomqtt.Client) -> aiomqtt.Message:
    async with asyncio.timeout(10):
        async for message in c.messages:
            return message
    raise AssertionError("unreachable")


async def test_fixture_user_logs_in_and_wrong_password_is_refused(
    mosquitto_broker: MosquittoBroker,
) -> None:
    assert (
        await probe_connect("127.0.0.1", mosquitto_broker.port, BROKER_USER, BROKER_PASSWORD) == 0
    )
    # CONNACK 4 = bad username or password (MQTT 3.1), 5 = not authorised
    assert await probe_connect("127.0.0.1", mosquitto_broker.port, BROKER_USER, "wrong") in (4, 5)
    assert await probe_connect("127.0.0.1", mosquitto_broker.port, "nobody", "x") in (4, 5)
    with pytest.raises(aiomqtt.MqttError):
        async with client(mosquitto_broker, BROKER_USER, "wrong", "c1"):
            pass


async def test_device_acl_blocks_other_did_and_app2dev(mosquitto_broker: MosquittoBroker) -> None:
    """protocol.md §2/§4: a device reads only its own three subscriptions and writes only
    dev2app/<its DID>[/...] and cli2ser_req; every other publish is denied and logged."""
    await mosquitto_broker.add_user(DID, "pass1", device_acl(DID, PK))
    async with (
        client(mosquitto_broker, BROKER_USER, BROKER_PASSWORD, "observer") as observer,
        client(mosquitto_broker, DID, "pass1", DID) as device,
    ):
        await device.subscribe(f"app2dev/{OTHER_DID}/#")
        await device.subscribe(f"ser2cli_res/{OTHER_DID}")
        await device.subscribe(f"app2dev/{DID}/#")
        await observer.subscribe("#")
        # Forbidden for the device to read: published by the observer before an allowed one.
        await observer.publish(f"app2dev/{OTHER_DID}/app", b"secret")
        await observer.publish(f"ser2cli_res/{OTHER_DID}", b"secret")
        await observer.publish(f"app2dev/{DID}/app", b"mine")
        msg = await next_message(device)
        assert (str(msg.topic), msg.payload) == (f"app2dev/{DID}/app", b"mine")
        # Drain the observer's own three messages.
        for _ in range(3):
            await next_message(observer)
        # Forbidden for the device to write, then an allowed sentinel from the same client.
        await device.publish(f"app2dev/{DID}/app", b"forged")
        await device.publish(f"dev2app/{OTHER_DID}", b"forged")
        await device.publish(f"dev2app/{OTHER_DID}/app", b"forged")
        await device.publish("ser2cli_req", b"\x00\x00\x00\x03\x02\x0f")
        await device.publish(f"ser2cli_res/{DID}", b"forged")
        await device.publish("cli2ser_req", b"\x00\x00\x00\x03\x02\x0f")
        await device.publish(f"dev2app/{DID}/app", b"ok")
        await device.publish(f"dev2app/{DID}", b"ok")
        received = [await next_message(observer) for _ in range(3)]
        assert [(str(m.topic), m.payload) for m in received] == [
            ("cli2ser_req", b"\x00\x00\x00\x03\x02\x0f"),
            (f"dev2app/{DID}/app", b"ok"),
            (f"dev2app/{DID}", b"ok"),
        ]
    await mosquitto_broker.sync_log()
    assert [(e.client_id, e.topic) for e in mosquitto_broker.log.take_denied()] == [
        (DID, f"app2dev/{DID}/app"),
        (DID, f"dev2app/{OTHER_DID}"),
        (DID, f"dev2app/{OTHER_DID}/app"),
        (DID, "ser2cli_req"),
        (DID, f"ser2cli_res/{DID}"),
    ]


async def test_device_cannot_read_another_devices_app2dev(
    mosquitto_broker: MosquittoBroker,
) -> None:
    """A device subscribing to `app2dev/#` or `#` still gets only its own app2dev topics."""
    await mosquitto_broker.add_user(DID, "pass1", device_acl(DID, PK))
    async with (
        client(mosquitto_broker, BROKER_USER, BROKER_PASSWORD, "observer") as observer,
        client(mosquitto_broker, DID, "pass1", DID) as device,
    ):
        await device.subscribe("app2dev/#")
        await device.subscribe("#")
        await observer.publish(f"app2dev/{OTHER_DID}/app", b"secret")
        await observer.publish(f"dev2app/{OTHER_DID}", b"secret")
        await observer.publish(f"app2dev/{DID}/app", b"mine")
        msg = await next_message(device)
        assert (str(msg.topic), msg.payload) == (f"app2dev/{DID}/app", b"mine")


async def test_removed_user_is_disconnected_and_refused(mosquitto_broker: MosquittoBroker) -> None:
    """Disabling a DID: mosquitto 2.0.11 drops the live client on reload (measured)."""
    await mosquitto_broker.add_user(DID, "pass1", device_acl(DID, PK))
    async with client(mosquitto_broker, DID, "pass1", DID) as device:
        await device.subscribe(f"app2dev/{DID}/#")
        await mosquitto_broker.remove_user(DID)
        with pytest.raises(aiomqtt.MqttError):
            await next_message(device)
    assert await probe_connect("127.0.0.1", mosquitto_broker.port, DID, "pass1") in (4, 5)


async def test_pause_resume_and_restart_keep_port(mosquitto_broker: MosquittoBroker) -> None:
    port = mosquitto_broker.port
    mosquitto_broker.pause()
    mosquitto_broker.resume()
    assert await probe_connect("127.0.0.1", port, BROKER_USER, BROKER_PASSWORD) == 0
    await mosquitto_broker.restart()
    assert mosquitto_broker.port == port
    assert await probe_connect("127.0.0.1", port, BROKER_USER, BROKER_PASSWORD) == 0


async def test_password_change_drops_the_live_session(mosquitto_broker: MosquittoBroker) -> None:
    """Re-registration gives a DID a new passcode: the old session is dropped (measured)."""
    await mosquitto_broker.add_user(DID, "old", device_acl(DID, PK))
    async with client(mosquitto_broker, DID, "old", DID) as device:
        await device.subscribe(f"app2dev/{DID}/#")
        await mosquitto_broker.add_user(DID, "new", device_acl(DID, PK))
        with pytest.raises(aiomqtt.MqttError):
            await next_message(device)
    assert await probe_connect("127.0.0.1", mosquitto_broker.port, DID, "new") == 0
