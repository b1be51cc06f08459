"""MqttClient: aiomqtt's writer registration race and its ignored early disconnect, fixed;
the direct QoS 0 publish (see mqtt_client.py)."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from typing import Any

import aiomqtt
import paho.mqtt.client as mqtt
import pytest

from custom_components.gizwits_device.protocol import mqtt_client
from custom_components.gizwits_device.protocol.mqtt_client import MqttClient
from emulator.broker import HOST, MosquittoBroker
from tests.conftest import BROKER_PASSWORD, BROKER_USER
from tests.fault.proxy import ConnackHold


async def _register_then_close(client: aiomqtt.Client, *, close: bool) -> list[dict[str, Any]]:
    """Ask for a writer on a socket, maybe close it before the loop runs; return loop errors."""
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    ours, theirs = socket.socketpair()
    try:
        client._on_socket_register_write(client._client, None, ours)
        fileno = ours.fileno()
        if close:
            ours.close()
        for _ in range(3):
            await asyncio.sleep(0)
        if not close:
            assert loop.remove_writer(fileno), "the writer was registered"
    finally:
        loop.set_exception_handler(None)
        ours.close()
        theirs.close()
    return errors


async def test_writer_for_an_open_socket_is_registered() -> None:
    assert await _register_then_close(MqttClient("127.0.0.1", 1), close=False) == []


async def test_writer_for_a_socket_closed_meanwhile_is_skipped() -> None:
    """The connection closing between paho's request and the loop's turn is not an error."""
    assert await _register_then_close(MqttClient("127.0.0.1", 1), close=True) == []


async def test_plain_aiomqtt_hands_the_loop_a_closed_fd() -> None:
    """Why MqttClient exists: aiomqtt 2.5 itself logs EBADF here (drop it once fixed)."""
    errors = await _register_then_close(aiomqtt.Client("127.0.0.1", 1), close=True)
    assert len(errors) == 1
    assert isinstance(errors[0]["exception"], OSError)


async def test_the_fix_applies_to_the_installed_aiomqtt() -> None:
    """An aiomqtt upgrade that renames the replaced internals turns the fix off (the stock
    client runs); this test then says the fix needs a look."""
    assert MqttClient("127.0.0.1", 1).race_fixed


async def test_without_the_internals_the_stock_client_runs() -> None:
    """After an aiomqtt upgrade without these internals MqttClient behaves as aiomqtt does."""
    client = MqttClient("127.0.0.1", 1)
    del client._disconnected
    assert not client.race_fixed
    errors = await _register_then_close(client, close=True)
    assert len(errors) == 1
    assert isinstance(errors[0]["exception"], OSError)


async def _exit_after_a_connack_timeout(broker: MosquittoBroker, exit_timeout: float) -> None:
    """Log in through a proxy that holds the CONNACK until the login times out, then exit
    (aiomqtt's exit sends DISCONNECT and waits up to `exit_timeout` for the disconnect)."""
    async with ConnackHold(broker.port) as hold:
        client = MqttClient(HOST, hold.port, timeout=0.5, keepalive=60)
        with pytest.raises(aiomqtt.MqttError, match="timed out"):
            await client.__aenter__()
        client.timeout = exit_timeout
        try:
            await client.__aexit__(None, None, None)
        finally:
            async with asyncio.timeout(30):
                await hold.closed.wait()


async def test_exit_after_a_connack_timeout_ends_at_the_disconnect(
    mosquitto_broker: MosquittoBroker,
) -> None:
    """The DISCONNECT closes the socket and the exit returns then, not after its timeout."""
    assert MqttClient(HOST, 1).early_disconnect_fixed
    async with asyncio.timeout(30):
        await _exit_after_a_connack_timeout(mosquitto_broker, exit_timeout=600)


async def test_without_the_internals_the_exit_waits_its_timeout(
    mosquitto_broker: MosquittoBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an aiomqtt upgrade without them, the stock exit waits its whole timeout (and
    says it timed out) though the socket is closed."""
    monkeypatch.setattr(mqtt_client, "_DISCONNECT_INTERNALS", ("_no_such_internal",))
    assert not MqttClient(HOST, 1).early_disconnect_fixed
    with pytest.raises(aiomqtt.MqttError, match="timed out"):
        await _exit_after_a_connack_timeout(mosquitto_broker, exit_timeout=0.5)


class _BrokenPipe(mqtt.Client):
    """A paho client whose writes fail as on a broken connection, each with a new error."""

    def __init__(self) -> None:
        super().__init__(mqtt.CallbackAPIVersion.VERSION2)
        self.errors: list[OSError] = []

    def loop_write(self) -> mqtt.MQTTErrorCode:
        error = BrokenPipeError(errno.EPIPE, f"write {len(self.errors) + 1} failed")
        self.errors.append(error)
        raise error


async def test_a_failed_write_ends_the_connection_with_its_error() -> None:
    """A write that raises (aiomqtt: "a sign that the underlying connection broke") ends the
    connection with that error, not a loop error; later failures keep the first one."""
    client = MqttClient("127.0.0.1", 1)
    paho = _BrokenPipe()
    loop = asyncio.get_running_loop()
    loop_errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: loop_errors.append(context))
    ours, theirs = socket.socketpair()
    try:
        client._on_socket_register_write(paho, None, ours)
        async with asyncio.timeout(10):
            while len(paho.errors) < 2:  # the socket stays writable: the writer runs again
                await asyncio.sleep(0)
        loop.remove_writer(ours.fileno())
    finally:
        loop.set_exception_handler(None)
        ours.close()
        theirs.close()
    assert client._disconnected.exception() is paho.errors[0]
    assert loop_errors == []


def test_redacting_logger_replaces_the_secret(caplog: pytest.LogCaptureFixture) -> None:
    """The DID in paho's messages and arguments is written as **REDACTED**."""
    logger = mqtt_client.RedactingLogger("test.paho.redacting", "SECRETDID")
    with caplog.at_level(logging.DEBUG, logger="test.paho.redacting"):
        logger.debug("Sending CONNECT (id=%s) to dev2app/%s", "SECRETDID", "SECRETDID")
    assert caplog.messages == ["Sending CONNECT (id=**REDACTED**) to dev2app/**REDACTED**"]


def test_redacting_logger_without_a_secret_leaves_messages_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No secret, nothing replaced (str.replace("") would put **REDACTED** between every
    character); the arguments stay for the handlers."""
    logger = mqtt_client.RedactingLogger("test.paho.plain", "")
    with caplog.at_level(logging.DEBUG, logger="test.paho.plain"):
        logger.debug("Sending PINGREQ (%s)", "d1")
    assert caplog.messages == ["Sending PINGREQ (d1)"]
    assert caplog.records[0].args == ("d1",)


async def _publish_burst(broker: MosquittoBroker, count: int, size: int) -> list[bytes]:
    """Publish `count` messages of `size` bytes at once; return what a subscriber got."""
    received: list[bytes] = []
    async with (
        aiomqtt.Client(HOST, broker.port, username=BROKER_USER, password=BROKER_PASSWORD) as sub,
        MqttClient(
            HOST,
            broker.port,
            username=BROKER_USER,
            password=BROKER_PASSWORD,
            # A small send buffer: the socket cannot take a burst at once.
            socket_options=((socket.SOL_SOCKET, socket.SO_SNDBUF, 4096),),
        ) as pub,
    ):
        await sub.subscribe("burst", qos=0)
        payloads = [bytes([n]) * size for n in range(count)]
        async with asyncio.timeout(60):
            await asyncio.gather(*(pub.publish("burst", p) for p in payloads))
            async for message in sub.messages:
                assert isinstance(message.payload, bytes)
                received.append(message.payload)
                if len(received) == count:
                    break
    return received


async def test_a_burst_larger_than_the_socket_takes_arrives_whole_and_in_order(
    mosquitto_broker: MosquittoBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The direct QoS 0 publish: what the socket cannot take at once waits for the writer."""
    waited = []
    confirm = MqttClient._confirm_written

    def spy(self: MqttClient) -> None:
        waited.append(len(self._unwritten))
        confirm(self)

    monkeypatch.setattr(MqttClient, "_confirm_written", spy)
    assert MqttClient(HOST, 1).direct_publish
    payloads = await _publish_burst(mosquitto_broker, count=16, size=64 * 1024)
    assert payloads == [bytes([n]) * 64 * 1024 for n in range(16)]
    assert max(waited) > 0  # some publishes waited for the socket


async def test_without_the_internals_the_stock_publish_runs(
    mosquitto_broker: MosquittoBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mqtt_client, "_PUBLISH_INTERNALS", ("_no_such_internal",))
    client = MqttClient(HOST, 1)
    assert not client.direct_publish
    assert client._client.on_publish is not None
    payloads = await _publish_burst(mosquitto_broker, count=4, size=16)
    assert payloads == [bytes([n]) * 16 for n in range(4)]


async def test_only_qos_0_is_published() -> None:
    """paho's on_publish is unset (no PUBACK ReasonCode per message): QoS 1 could not end."""
    client = MqttClient(HOST, 1)
    assert client._client.on_publish is None
    with pytest.raises(ValueError, match="QoS 0"):
        await client.publish("topic", b"x", qos=1)
