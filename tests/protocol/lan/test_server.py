"""The LAN TCP server: limits, bad input and lifecycle; real sockets (protocol.md §8, §6)."""

from __future__ import annotations

import asyncio
from functools import partial

import pytest

from custom_components.gizwits_device.protocol.frames import (
    AckedPassthrough,
    DevicePassthrough,
    PassthroughAck,
)
from custom_components.gizwits_device.protocol.lan import (
    DEFAULT_HEARTBEAT_TIMEOUT,
    DEFAULT_LOGIN_TIMEOUT,
    Heartbeat,
    HeartbeatReply,
    LanConfigError,
    LanPortInUseError,
    LanServer,
    LoginRequest,
    ModuleInfoRequest,
    encode_lan_frame,
)

from .helpers import (
    HOST,
    LOGIN_OK,
    LOGIN_REFUSED,
    READ_REPLY,
    ClientFactory,
    RawClient,
    logged_in as _logged_in,
    make_device,
    ping as _ping,
)

# -- heartbeat and limits -----------------------------------------------------------------------


async def test_silent_client_is_closed(socket_enabled: None) -> None:
    server = LanServer(hosts=[HOST], port=0, heartbeat_timeout=0.2)
    device, _ = make_device(1)
    server.add_device(device)
    await server.start()
    try:
        client = await _logged_in(partial(RawClient.connect, server.port), device.passcode)
        await client.send(Heartbeat())
        # protocol.md §8: 0x0015 -> 0x0016
        assert await client.receive_raw() == bytes.fromhex("00000003 03 00 0016")
        assert await client.closed_by_server() == b""  # then silence: closed
        assert server.stats.heartbeat_timeouts == 1
        await client.close()
    finally:
        await server.stop()
    assert server.logged_in_count(device.did) == 0


def test_timeouts_are_the_amended_rulings() -> None:
    """protocol.md §8 (amended): 60 s of silence closes a logged-in client, 15 s to log in."""
    server = LanServer()
    assert (server.heartbeat_timeout, server.login_timeout) == (60.0, 15.0)
    assert (DEFAULT_HEARTBEAT_TIMEOUT, DEFAULT_LOGIN_TIMEOUT) == (60.0, 15.0)


async def test_client_pinging_at_a_third_of_the_timeout_stays_for_many_timeouts(
    socket_enabled: None,
) -> None:
    """protocol.md §8: a client pinging every 20 s (a third of the 60 s timeout) is kept.

    The clock is shortened (timeout 1 s, a ping every 1/3 s); twelve pings span four
    timeouts, "four minutes" at the real rate, and the connection is never closed.
    """
    server = LanServer(hosts=[HOST], port=0, heartbeat_timeout=1.0, login_timeout=1.0)
    device, _ = make_device(1)
    server.add_device(device)
    await server.start()
    try:
        client = await _logged_in(partial(RawClient.connect, server.port), device.passcode)
        for _ in range(12):
            await asyncio.sleep(1.0 / 3)
            await _ping(client)
        assert server.stats.heartbeat_timeouts == 0
        assert server.stats.login_timeouts == 0
        assert server.logged_in_count(device.did) == 1
        await client.close()
    finally:
        await server.stop()


async def test_client_that_does_not_log_in_in_time_is_closed(socket_enabled: None) -> None:
    """protocol.md §8: 15 s to log in (shortened here), even while asking for module info."""
    server = LanServer(hosts=[HOST], port=0, heartbeat_timeout=60.0, login_timeout=0.3)
    device, _ = make_device(1)
    server.add_device(device)
    await server.start()
    try:
        client = await RawClient.connect(server.port)
        await client.send(ModuleInfoRequest())
        assert (await client.receive_raw())[6:8] == b"\x00\x14"  # allowed before login
        assert await client.closed_by_server() == b""
        assert server.stats.login_timeouts == 1
        assert server.stats.heartbeat_timeouts == 0
        await client.close()
    finally:
        await server.stop()


async def test_ninth_client_is_closed(lan_server: LanServer, connect: ClientFactory) -> None:
    device, _ = make_device(1)
    lan_server.add_device(device)
    clients = [await _logged_in(connect, device.passcode) for _ in range(8)]
    ninth = await connect()
    assert await ninth.closed_by_server() == b""
    assert lan_server.stats.connections_refused == 1
    for client in clients:  # the eight are unaffected
        await _ping(client)
    await clients[0].close()
    await _ping(clients[1])  # the server has handled the close by now
    tenth = await _logged_in(connect, device.passcode)
    await _ping(tenth)


async def test_ninth_login_to_one_device_is_refused(
    lan_server: LanServer, connect: ClientFactory
) -> None:
    busy, _ = make_device(1)
    free, _ = make_device(2)
    lan_server.add_device(busy)
    lan_server.add_device(free)
    for _ in range(8):
        await _logged_in(connect, busy.passcode)
    ninth = await connect()
    await ninth.send(LoginRequest(busy.passcode.encode()))
    assert await ninth.closed_by_server() == LOGIN_REFUSED
    await _logged_in(connect, free.passcode)
    assert lan_server.logged_in_count(busy.did) == 8
    assert lan_server.logged_in_count(free.did) == 1


# -- bad input ----------------------------------------------------------------------------------


async def test_garbage_closes_only_that_client(
    lan_server: LanServer, connect: ClientFactory
) -> None:
    device, _ = make_device(1)
    lan_server.add_device(device)
    good = await _logged_in(connect, device.passcode)
    bad = await _logged_in(connect, device.passcode)
    await bad.send(b"GET / HTTP/1.1\r\n\r\n")
    assert await bad.closed_by_server() == b""
    await _ping(good)
    assert lan_server.logged_in_count(device.did) == 1
    assert lan_server.stats.dropped_reasons["stream_HeaderError"] == 1


async def test_unknown_commands_after_login_are_dropped(
    lan_server: LanServer, connect: ClientFactory
) -> None:
    device, _ = make_device(1)
    lan_server.add_device(device)
    client = await _logged_in(connect, device.passcode)
    await client.send(
        bytes.fromhex("00000003 03 00 0017"),  # out of scope (protocol.md §8): ignored
        bytes.fromhex("00000003 03 07 0015"),  # bad flag
        DevicePassthrough(b"\x04"),  # device -> app direction
    )
    await _ping(client)
    assert lan_server.stats.dropped_reasons["UnknownCommandError"] == 1
    assert lan_server.stats.dropped_reasons["FieldError"] == 1
    assert lan_server.stats.dropped_reasons["unexpected_command"] == 1


async def test_bad_frame_before_login_closes(lan_server: LanServer, connect: ClientFactory) -> None:
    client = await connect()
    await client.send(bytes.fromhex("00000003 03 00 0017"))
    assert await client.closed_by_server() == b""


async def test_several_and_partial_frames_per_read(
    lan_server: LanServer, connect: ClientFactory
) -> None:
    device, handler = make_device(1)
    lan_server.add_device(device)
    client = await connect()
    burst = b"".join(
        encode_lan_frame(m)
        for m in (LoginRequest(device.passcode.encode()), Heartbeat(), AckedPassthrough(9, b"\x02"))
    )
    await client.send(burst)  # three frames in one write
    assert await client.receive_raw() == LOGIN_OK
    assert await client.receive() == HeartbeatReply()
    assert await client.receive() == PassthroughAck(9, READ_REPLY)
    for byte in bytes.fromhex("00000003 04 00 0090 02"):  # one byte per write
        await client.send(bytes((byte,)))
    assert await client.receive() == DevicePassthrough(READ_REPLY)
    assert [c.sn for c in handler.commands] == [9, None]


# -- devices and lifecycle ----------------------------------------------------------------------


async def test_duplicate_did_or_passcode_is_refused(lan_server: LanServer) -> None:
    device, _ = make_device(1)
    lan_server.add_device(device)
    with pytest.raises(LanConfigError):
        lan_server.add_device(make_device(1, "OTHEROTHER")[0])
    with pytest.raises(LanConfigError):
        lan_server.add_device(make_device(2, device.passcode)[0])
    assert lan_server.announcements() == [device.announcement]


async def test_removing_a_device_closes_its_clients(
    lan_server: LanServer, connect: ClientFactory
) -> None:
    gone, _ = make_device(1)
    kept, _ = make_device(2)
    lan_server.add_device(gone)
    lan_server.add_device(kept)
    client = await _logged_in(connect, gone.passcode)
    other = await _logged_in(connect, kept.passcode)
    lan_server.remove_device(gone.did)
    lan_server.remove_device(gone.did)  # twice is harmless
    assert await client.closed_by_server() == b""
    await _ping(other)
    assert lan_server.devices == [kept]


async def test_port_in_use_names_the_port(lan_server: LanServer) -> None:
    second = LanServer(hosts=[HOST], port=lan_server.port)
    with pytest.raises(LanPortInUseError, match=str(lan_server.port)) as info:
        await second.start()
    assert info.value.port == lan_server.port
    assert info.value.transport == "tcp"
    assert not second.listening


async def test_stop_closes_clients(lan_server: LanServer, connect: ClientFactory) -> None:
    device, _ = make_device(1)
    lan_server.add_device(device)
    client = await _logged_in(connect, device.passcode)
    await lan_server.stop()
    assert await client.closed_by_server() == b""
    assert not lan_server.listening
    assert lan_server.port == 0
