"""LAN passcode, binding window and login with real sockets on 127.0.0.1 (protocol.md §8)."""

from __future__ import annotations

import asyncio

import pytest

from custom_components.gizwits_device.protocol.frames import AppPassthrough
from custom_components.gizwits_device.protocol.lan import (
    Heartbeat,
    LanServer,
    LoginRateLimiter,
    LoginRequest,
    ModuleInfo,
    ModuleInfoRequest,
    PasscodeReply,
    PasscodeRequest,
)

from .helpers import (
    HOST,
    LOGIN_OK,
    LOGIN_REFUSED,
    PASSCODE_REFUSED,
    READ_REQUEST,
    ClientFactory,
    RawClient,
    logged_in as _logged_in,
    make_device,
)

# -- passcode and binding window ---------------------------------------------------------------


async def test_passcode_inside_the_binding_window(
    lan_server: LanServer, connect: ClientFactory
) -> None:
    device, _ = make_device(1, "ABCDEFGHIJ")
    lan_server.add_device(device)
    device.binding.open()
    client = await connect()
    await client.send(PasscodeRequest())
    # protocol.md §8: 00000003 0f 00 0007 000a <10 ASCII>
    assert await client.receive_raw() == bytes.fromhex("00000003 0f 00 0007 000a") + b"ABCDEFGHIJ"
    await client.send(LoginRequest(b"ABCDEFGHIJ"))  # the connection stays usable
    assert await client.receive_raw() == LOGIN_OK
    assert lan_server.stats.passcode_requests == 1


async def test_passcode_outside_the_window_is_never_sent(
    lan_server: LanServer, connect: ClientFactory
) -> None:
    device, _ = make_device(1)
    lan_server.add_device(device)
    client = await connect()
    await client.send(PasscodeRequest())
    # protocol.md §8 ruling: empty passcode, then close.
    assert await client.closed_by_server() == PASSCODE_REFUSED
    assert lan_server.stats.passcodes_refused == 1


async def test_window_expiry_closes_it_again(lan_server: LanServer, connect: ClientFactory) -> None:
    device, _ = make_device(1)
    lan_server.add_device(device)
    changes: list[bool] = []
    closed = asyncio.Event()
    device.binding.add_listener(changes.append)
    device.binding.add_listener(lambda is_open: None if is_open else closed.set())
    device.binding.open(duration=0.01)
    await asyncio.wait_for(closed.wait(), 5)
    assert changes == [True, False]
    client = await connect()
    await client.send(PasscodeRequest())
    assert await client.closed_by_server() == PASSCODE_REFUSED


async def test_passcode_comes_from_the_latest_opened_window(
    lan_server: LanServer, connect: ClientFactory
) -> None:
    first, _ = make_device(1, "FIRSTFIRST")
    second, _ = make_device(2, "SECONDSECO")
    lan_server.add_device(first)
    lan_server.add_device(second)
    first.binding.open()
    second.binding.open()
    client = await connect()
    await client.send(PasscodeRequest())
    assert await client.receive() == PasscodeReply(b"SECONDSECO")
    first.binding.open()  # re-opening makes it the latest
    await client.send(PasscodeRequest())
    assert await client.receive() == PasscodeReply(b"FIRSTFIRST")


async def test_logged_in_client_asks_about_its_own_device(
    lan_server: LanServer, connect: ClientFactory
) -> None:
    mine, _ = make_device(1)
    other, _ = make_device(2)
    lan_server.add_device(mine)
    lan_server.add_device(other)
    other.binding.open()
    client = await _logged_in(connect, mine.passcode)
    await client.send(PasscodeRequest())
    assert await client.closed_by_server() == PASSCODE_REFUSED
    mine.binding.open()
    client = await _logged_in(connect, mine.passcode)
    await client.send(PasscodeRequest())
    assert await client.receive() == PasscodeReply(mine.passcode.encode())


# -- login ----------------------------------------------------------------------------------------


async def test_login_ok_counts_and_notifies(lan_server: LanServer, connect: ClientFactory) -> None:
    device, _ = make_device(1)
    lan_server.add_device(device)
    changes: list[tuple[str, int]] = []
    lan_server.add_clients_listener(lambda did, count: changes.append((did, count)))
    client = await _logged_in(connect, device.passcode)  # no binding window needed
    assert lan_server.logged_in_count(device.did) == 1
    assert lan_server.logged_in_clients(device.did) == [
        "{}:{}".format(*client.writer.get_extra_info("sockname"))
    ]
    await client.close()
    await lan_server.stop()  # waits for the connection handler to finish
    assert changes == [(device.did, 1), (device.did, 0)]
    assert lan_server.logged_in_count(device.did) == 0


async def test_login_refused_closes(lan_server: LanServer, connect: ClientFactory) -> None:
    device, _ = make_device(1)
    lan_server.add_device(device)
    client = await connect()
    await client.send(LoginRequest(b"WRONGWRONG"))
    assert await client.closed_by_server() == LOGIN_REFUSED
    assert lan_server.stats.logins_refused == 1
    assert lan_server.logged_in_count(device.did) == 0


async def test_failed_logins_are_rate_limited(socket_enabled: None) -> None:
    server = LanServer(hosts=[HOST], port=0, rate_limiter=LoginRateLimiter(3, 60.0))
    device, _ = make_device(1)
    server.add_device(device)
    await server.start()
    try:
        for _ in range(3):
            client = await RawClient.connect(server.port)
            await client.send(LoginRequest(b"GUESSGUESS"))
            assert await client.closed_by_server() == LOGIN_REFUSED
        # Now even the right passcode is refused from this address.
        client = await RawClient.connect(server.port)
        await client.send(LoginRequest(device.passcode.encode()))
        assert await client.closed_by_server() == LOGIN_REFUSED
        assert server.stats.logins_rate_limited == 1
        assert server.stats.logins_refused == 3
    finally:
        await server.stop()


async def test_relogin_on_the_same_connection(
    lan_server: LanServer, connect: ClientFactory
) -> None:
    device, _ = make_device(1)
    lan_server.add_device(device)
    client = await _logged_in(connect, device.passcode)
    await client.send(LoginRequest(device.passcode.encode()))
    assert await client.receive_raw() == LOGIN_OK
    assert lan_server.logged_in_count(device.did) == 1
    await client.send(LoginRequest(b"WRONGWRONG"))
    assert await client.closed_by_server() == LOGIN_REFUSED


# -- before login -------------------------------------------------------------------------------


@pytest.mark.parametrize("message", [Heartbeat(), AppPassthrough(READ_REQUEST)])
async def test_only_passcode_login_and_module_info_before_login(
    lan_server: LanServer, connect: ClientFactory, message: object
) -> None:
    device, handler = make_device(1)
    lan_server.add_device(device)
    client = await connect()
    await client.send(message)  # type: ignore[arg-type]
    assert await client.closed_by_server() == b""
    assert handler.commands == []


async def test_module_info_before_and_after_login(
    lan_server: LanServer, connect: ClientFactory
) -> None:
    client = await connect()
    await client.send(ModuleInfoRequest())
    assert await client.closed_by_server() == b""  # nothing served yet
    first, _ = make_device(1)
    second, _ = make_device(2)
    second.module_info = ModuleInfo(second.announcement.product_key, "HA000002")
    lan_server.add_device(first)
    lan_server.add_device(second)
    client = await connect()
    await client.send(ModuleInfoRequest())
    assert await client.receive() == first.module_info
    client = await _logged_in(connect, second.passcode)
    await client.send(ModuleInfoRequest())
    assert await client.receive() == second.module_info
