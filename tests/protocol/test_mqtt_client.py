"""MqttClient: aiomqtt's writer registration race, fixed (see mqtt_client.py)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import aiomqtt

from custom_components.gizwits_device.protocol.mqtt_client import MqttClient


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
