"""UDP discovery and the start-up broadcast, on 127.0.0.1 only (protocol.md §8)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import socket

import pytest

from custom_components.gizwits_device.protocol.lan import (
    DeviceAnnouncement,
    DiscoveryResponder,
    LanBindError,
    LanPortInUseError,
    LanStats,
    send_startup_broadcasts,
)

from .helpers import HOST, WAIT

DID = "A1b2C3d4E5f6G7h8I9j0Kl"
MAC = bytes.fromhex("5ccf7f0a1b2c")
PK = "0123456789abcdef0123456789abcdef"
ATTRS = bytes.fromhex("0000000000000002")
# protocol.md §8: a real PH-803W's answer to a discovery request.
PH803W_REPLY = (
    bytes.fromhex("00000003 68 00 0004 0016")
    + DID.encode()
    + bytes.fromhex("0006")
    + MAC
    + bytes.fromhex("0000 0020")
    + PK.encode()
    + ATTRS
    + b"api.gizwits.com:80\x00"
    + b"4.0.8\x00"
)
DISCOVER = bytes.fromhex("00000003 03 00 0003")


class _Inbox(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        self.queue.put_nowait((data, addr))


async def _udp(port: int = 0) -> tuple[asyncio.DatagramTransport, _Inbox]:
    loop = asyncio.get_running_loop()
    transport, inbox = await loop.create_datagram_endpoint(
        _Inbox, local_addr=(HOST, port), family=socket.AF_INET
    )
    return transport, inbox


async def _next(inbox: _Inbox) -> tuple[bytes, tuple[str, int]]:
    return await asyncio.wait_for(inbox.queue.get(), WAIT)


@pytest.fixture
async def devices() -> list[DeviceAnnouncement]:
    return [DeviceAnnouncement(DID, MAC, PK, mcu_attributes=ATTRS)]


@pytest.fixture
async def responder(
    socket_enabled: None, devices: list[DeviceAnnouncement]
) -> AsyncIterator[DiscoveryResponder]:
    responder = DiscoveryResponder(lambda: devices, hosts=[HOST], port=0)
    await responder.start()
    yield responder
    responder.stop()


async def test_discovery_answer_byte_for_byte_to_the_sender(responder: DiscoveryResponder) -> None:
    app, inbox = await _udp()
    try:
        app.sendto(DISCOVER, (HOST, responder.port))
        data, sender = await _next(inbox)
        assert data == PH803W_REPLY
        assert sender == (HOST, responder.port)  # unicast, from the discovery port
        assert responder.stats.discovery_requests == 1
        assert responder.stats.discovery_replies == 1
    finally:
        app.close()


async def test_one_answer_per_served_device(
    responder: DiscoveryResponder, devices: list[DeviceAnnouncement]
) -> None:
    devices.append(DeviceAnnouncement("B" * 22, bytes(6), PK))
    app, inbox = await _udp()
    try:
        app.sendto(DISCOVER, (HOST, responder.port))
        answers = {(await _next(inbox))[0] for _ in devices}
        assert PH803W_REPLY in answers
        assert any(b"B" * 22 in answer for answer in answers)
    finally:
        app.close()


@pytest.mark.parametrize(
    "datagram",
    [
        bytes.fromhex("00000003 04 00 0003"),  # length disagrees with the size
        bytes.fromhex("00000003 03 00 0006"),  # a TCP command over UDP
        bytes.fromhex("00000003 03 00 0004"),  # 0x0004 body missing
        b"\xff" * 20,
        b"",
    ],
)
async def test_everything_else_is_ignored(responder: DiscoveryResponder, datagram: bytes) -> None:
    app, inbox = await _udp()
    try:
        app.sendto(datagram, (HOST, responder.port))
        app.sendto(DISCOVER, (HOST, responder.port))
        # The first (and only) answer is the one to the valid request.
        assert (await _next(inbox))[0] == PH803W_REPLY
        assert responder.stats.datagrams_ignored == 1
        assert responder.stats.discovery_requests == 1
    finally:
        app.close()


async def test_port_in_use_names_the_port(responder: DiscoveryResponder) -> None:
    other = DiscoveryResponder(list, hosts=[HOST], port=responder.port)
    with pytest.raises(LanPortInUseError, match=str(responder.port)) as info:
        await other.start()
    assert (info.value.transport, info.value.port) == ("udp", responder.port)
    assert not other.listening


async def test_unbindable_address_is_a_bind_error(socket_enabled: None) -> None:
    # 192.0.2.1 (TEST-NET-1) is never a local address: binding fails, nothing is sent.
    other = DiscoveryResponder(list, hosts=[HOST, "192.0.2.1"], port=0)
    with pytest.raises(LanBindError) as info:
        await other.start()
    assert not isinstance(info.value, LanPortInUseError)
    assert not other.listening  # the first host's socket was closed again


async def test_several_hosts_share_the_port(socket_enabled: None) -> None:
    responder = DiscoveryResponder(list, hosts=[HOST, "127.0.0.2"], port=0)
    await responder.start()
    try:
        assert responder.listening
        app, inbox = await _udp()
        try:
            app.sendto(DISCOVER, ("127.0.0.2", responder.port))
            app.sendto(b"x", ("127.0.0.2", responder.port))
            async with asyncio.timeout(WAIT):
                while responder.stats.datagrams_ignored == 0:
                    await asyncio.sleep(0.01)
            assert responder.stats.discovery_requests == 1
            assert inbox.queue.empty()  # no devices: no answer
        finally:
            app.close()
    finally:
        responder.stop()


async def test_startup_broadcast(socket_enabled: None, devices: list[DeviceAnnouncement]) -> None:
    # protocol.md §8: 0x0005, same body as 0x0004, once per interval, `count` times.
    listener, inbox = await _udp()
    stats = LanStats()
    try:
        port = listener.get_extra_info("sockname")[1]
        await send_startup_broadcasts(
            lambda: devices, [HOST], port=port, count=3, interval=0.01, stats=stats
        )
        expected = PH803W_REPLY[:6] + b"\x00\x05" + PH803W_REPLY[8:]
        for _ in range(3):
            assert (await _next(inbox))[0] == expected
        assert inbox.queue.empty()
        assert stats.broadcasts_sent == 3
    finally:
        listener.close()
