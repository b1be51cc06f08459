"""The LAN TCP server with real sockets on 127.0.0.1 (protocol.md §8, §6)."""

from __future__ import annotations

import asyncio

import pytest

from custom_components.gizwits_device.protocol.commands import CommandRunner, CommandSource
from custom_components.gizwits_device.protocol.frames import (
    AckedPassthrough,
    AppPassthrough,
    DevicePassthrough,
    PassthroughAck,
)
from custom_components.gizwits_device.protocol.lan import (
    Heartbeat,
    HeartbeatReply,
    LanConfigError,
    LanPortInUseError,
    LanServer,
    LoginRateLimiter,
    LoginRequest,
    ModuleInfo,
    ModuleInfoRequest,
    PasscodeReply,
    PasscodeRequest,
    encode_lan_frame,
)

from .conftest import ClientFactory
from .helpers import HOST, READ_REPLY, READ_REQUEST, RawClient, make_device

PASSCODE_REFUSED = bytes.fromhex("00000003 05 00 0007 0000")  # protocol.md §8 ruling
LOGIN_OK = bytes.fromhex("00000003 04 00 0009 00")
LOGIN_REFUSED = bytes.fromhex("00000003 04 00 0009 01")


async def _logged_in(connect: ClientFactory, passcode: str) -> RawClient:
    client = await connect()
    await client.send(LoginRequest(passcode.encode()))
    assert await client.receive_raw() == LOGIN_OK
    return client


async def _ping(client: RawClient) -> None:
    """A heartbeat round trip: everything the server sent before it has been read."""
    await client.send(Heartbeat())
    assert await client.receive() == HeartbeatReply()


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


# -- heartbeat and limits -----------------------------------------------------------------------


async def test_silent_client_is_closed(socket_enabled: None) -> None:
    server = LanServer(hosts=[HOST], port=0, heartbeat_timeout=0.2)
    device, _ = make_device(1)
    server.add_device(device)
    await server.start()
    try:
        client = await RawClient.connect(server.port)
        await client.send(LoginRequest(device.passcode.encode()))
        assert await client.receive_raw() == LOGIN_OK
        await client.send(Heartbeat())
        # protocol.md §8: 0x0015 -> 0x0016
        assert await client.receive_raw() == bytes.fromhex("00000003 03 00 0016")
        assert await client.closed_by_server() == b""  # then silence: closed
        assert server.stats.heartbeat_timeouts == 1
        await client.close()
    finally:
        await server.stop()
    assert server.logged_in_count(device.did) == 0


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


# -- commands and reports -----------------------------------------------------------------------


async def test_acked_read_is_answered_inside_the_0094_to_the_asker_only(
    lan_server: LanServer, connect: ClientFactory
) -> None:
    device, handler = make_device(1)
    lan_server.add_device(device)
    asker = await _logged_in(connect, device.passcode)
    other = await _logged_in(connect, device.passcode)
    await asker.send(bytes.fromhex("00000003 08 00 0093 00000004 02"))
    # protocol.md §8 / §4 ruling: the read reply travels inside the 0x0094.
    assert await asker.receive_raw() == bytes.fromhex(
        "00000003 11 00 0094 00000004 03 00 02dc 089d 0000 0000"
    )
    await _ping(other)  # nothing reached the other client before its own answer
    (command,) = handler.commands
    assert command.source is CommandSource.LAN
    assert (command.sn, command.payload) == (4, READ_REQUEST)
    assert command.app_client_id == "{}:{}".format(*asker.writer.get_extra_info("sockname"))


async def test_repeated_sn_is_acked_again_not_run_twice(
    lan_server: LanServer, connect: ClientFactory
) -> None:
    device, handler = make_device(1)
    lan_server.add_device(device)
    client = await _logged_in(connect, device.passcode)
    for _ in range(2):
        await client.send(AckedPassthrough(7, READ_REQUEST))
        assert await client.receive() == PassthroughAck(7, READ_REPLY)
    await client.send(AckedPassthrough(8, b"\x01\x01\x01"))  # a control: empty 0x0094
    assert await client.receive() == PassthroughAck(8, b"")
    assert [c.sn for c in handler.commands] == [7, 8]
    assert lan_server.stats.duplicates == 1


async def test_plain_read_is_answered_by_0091_to_the_asker_only(
    lan_server: LanServer, connect: ClientFactory
) -> None:
    device, _ = make_device(1)
    lan_server.add_device(device)
    asker = await _logged_in(connect, device.passcode)
    other = await _logged_in(connect, device.passcode)
    await asker.send(AppPassthrough(READ_REQUEST))
    assert await asker.receive() == DevicePassthrough(READ_REPLY)
    await asker.send(AppPassthrough(b"\x01\x01\x01"))  # no answer: nothing sent
    await _ping(asker)
    await _ping(other)


async def test_handler_failure_still_acks(lan_server: LanServer, connect: ClientFactory) -> None:
    device, handler = make_device(1)
    handler.fail = True
    lan_server.add_device(device)
    client = await _logged_in(connect, device.passcode)
    await client.send(AckedPassthrough(1, READ_REQUEST), AppPassthrough(READ_REQUEST))
    assert await client.receive() == PassthroughAck(1, b"")  # acked, empty
    await _ping(client)  # no 0x0091 for the failed read, and the client stays
    assert len(handler.commands) == 2


async def test_oversized_answer_is_not_sent(lan_server: LanServer, connect: ClientFactory) -> None:
    device, _ = make_device(1)

    async def too_big(command: object) -> bytes:
        return bytes(70000)

    device.commands.set_handler(too_big)
    lan_server.add_device(device)
    client = await _logged_in(connect, device.passcode)
    await client.send(AckedPassthrough(1, READ_REQUEST))
    assert await client.receive() == PassthroughAck(1, b"")
    assert lan_server.stats.command_errors == 1


async def test_report_goes_to_every_logged_in_client_of_that_device(
    lan_server: LanServer, connect: ClientFactory
) -> None:
    first, first_handler = make_device(1)
    second, second_handler = make_device(2)
    lan_server.add_device(first)
    lan_server.add_device(second)
    mine = [await _logged_in(connect, first.passcode) for _ in range(2)]
    theirs = await _logged_in(connect, second.passcode)
    anonymous = await connect()
    report = b"\x04\x01\x00\x02\xdc"
    assert lan_server.send_to_all(first.did, report) == 2
    for client in mine:
        assert await client.receive_raw() == bytes.fromhex("00000003 08 00 0091") + report
    await _ping(theirs)
    await anonymous.send(ModuleInfoRequest())
    assert await anonymous.receive() == first.module_info
    assert lan_server.send_to_all("no such DID", report) == 0
    # Each login went to the device whose passcode it carried.
    await theirs.send(AppPassthrough(READ_REQUEST))
    assert await theirs.receive() == DevicePassthrough(READ_REPLY)
    assert len(second_handler.commands) == 1
    assert first_handler.commands == []


async def test_client_that_does_not_read_is_closed(socket_enabled: None) -> None:
    server = LanServer(hosts=[HOST], port=0, write_buffer_limit=64 * 1024)
    device, _ = make_device(1)
    server.add_device(device)
    await server.start()
    try:
        client = await RawClient.connect(server.port)
        await client.send(LoginRequest(device.passcode.encode()))
        assert await client.receive_raw() == LOGIN_OK
        sent = 0
        while server.logged_in_count(device.did) and sent < 10_000:
            sent += server.send_to_all(device.did, bytes(60_000))
            await asyncio.sleep(0)
        assert server.stats.slow_clients_closed == 1
        await client.close()
    finally:
        await server.stop()


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


async def test_commands_beyond_the_runner_limit_are_dropped(
    lan_server: LanServer, connect: ClientFactory
) -> None:
    # protocol.md §6: a flood must not pile up work; the shared runner's cap applies to LAN too.
    device, _ = make_device(1)
    device.commands = CommandRunner(max_running=1)
    release = asyncio.Event()

    async def slow(command: object) -> bytes:
        await release.wait()
        return READ_REPLY

    device.commands.set_handler(slow)
    lan_server.add_device(device)
    first = await _logged_in(connect, device.passcode)
    second = await _logged_in(connect, device.passcode)
    await first.send(AckedPassthrough(1, READ_REQUEST))
    async with asyncio.timeout(5):
        while not device.commands.busy:
            await asyncio.sleep(0.01)
    await second.send(AckedPassthrough(2, READ_REQUEST))
    await _ping(second)  # no 0x0094 came before the heartbeat reply
    assert lan_server.stats.dropped_reasons["commands_busy"] == 1
    release.set()
    assert await first.receive() == PassthroughAck(1, READ_REPLY)
