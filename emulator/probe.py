"""A one-shot MQTT 3.1 login, by hand: is the broker up, and does it accept these credentials?"""

from __future__ import annotations

import asyncio
import contextlib


def _utf8(value: str) -> bytes:
    raw = value.encode()
    return len(raw).to_bytes(2, "big") + raw


def _remaining_length(length: int) -> bytes:
    out = bytearray()
    while True:
        byte, length = length % 128, length // 128
        out.append(byte | (0x80 if length else 0))
        if not length:
            return bytes(out)


async def probe_connect(
    host: str, port: int, username: str, password: str, client_id: str = "probe"
) -> int | None:
    """Send one MQTT 3.1 CONNECT; return the CONNACK return code, None if no CONNACK came."""
    body = (
        _utf8("MQIsdp")
        + bytes([3, 0xC2])  # level 3; username, password, clean session
        + (10).to_bytes(2, "big")
        + _utf8(client_id)
        + _utf8(username)
        + _utf8(password)
    )
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        return None
    try:
        writer.write(b"\x10" + _remaining_length(len(body)) + body)
        await writer.drain()
        connack = await asyncio.wait_for(reader.readexactly(4), 5)
        if connack[0] != 0x20:
            return None
        if connack[3] == 0:
            writer.write(b"\xe0\x00")  # DISCONNECT
            await writer.drain()
        return connack[3]
    except OSError, asyncio.IncompleteReadError, TimeoutError:
        return None
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
