"""LAN commands and reports with real sockets on 127.0.0.1 (protocol.md §8, §4 rulings)."""

from __future__ import annotations

import asyncio
from functools import partial

from custom_components.gizwits_device.protocol.commands import CommandRunner, CommandSource
from custom_components.gizwits_device.protocol.frames import (
    AckedPassthrough,
    AppPassthrough,
    DevicePassthrough,
    PassthroughAck,
)
from custom_components.gizwits_device.protocol.lan import (
    LanServer,
    ModuleInfoRequest,
)

from .helpers import (
    HOST,
    READ_REPLY,
    READ_REQUEST,
    ClientFactory,
    RawClient,
    logged_in as _logged_in,
    make_device,
    ping as _ping,
)

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
        client = await _logged_in(partial(RawClient.connect, server.port), device.passcode)
        sent = 0
        while server.logged_in_count(device.did) and sent < 10_000:
            sent += server.send_to_all(device.did, bytes(60_000))
            await asyncio.sleep(0)
        assert server.stats.slow_clients_closed == 1
        await client.close()
    finally:
        await server.stop()


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
