"""M2M session against a real mosquitto and the emulator (protocol.md §2, §4, §6)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from dataclasses import replace
import socket

import aiohttp
import pytest

from custom_components.gizwits_device.protocol import (
    AckedPassthrough,
    AckTimeoutError,
    AppCommand,
    AppPassthrough,
    CommandSource,
    ConnectionState,
    ConnectionStatus,
    LogLevel,
    M2MAuthenticationError,
    M2MNotConnectedError,
    M2MSession,
    M2MTimeoutError,
    M2MUnreachableError,
    OnlineAppCount,
    OtaCheckNotification,
    OtaNotification,
    ReceivedFrame,
    SessionTiming,
    SetLogLevel,
    mqtt_client,
)
from custom_components.gizwits_device.protocol.commands import DEDUP_MAX_ENTRIES, CommandRunner
from custom_components.gizwits_device.protocol.frame_codec import encode_frame
from custom_components.gizwits_device.protocol.frames import PassthroughAck
from custom_components.gizwits_device.protocol.gservice import GServiceClient
from custom_components.gizwits_device.protocol.gservice_wire import M2MEndpoint
from custom_components.gizwits_device.protocol.topics import TopicKind
from emulator import wire
from emulator.server import Emulator
from tests.conftest import PRODUCT_KEY
from tests.gservice_servers import closed_port
from tests.vectors import frame_vectors

FAST = SessionTiming(
    keepalive=1,
    backoff_step=0.1,
    connect_timeout=0.5,
    ack_retry_interval=0.2,
    ack_retries=3,
    dedup_window=10.0,
    reconnect_jitter=0.0,
)
PASSCODE = "ABCDEFGHIJ"
MAC = "0A1B2C3D4E5F"


class CountingGService(GServiceClient):
    """The real client, counting provision calls (protocol.md §2.3: before every connect)."""

    provisions = 0

    async def provision(self, did: str) -> M2MEndpoint:
        self.provisions += 1
        return await super().provision(did)


async def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def gservice(emulator: Emulator, http: aiohttp.ClientSession) -> CountingGService:
    return CountingGService(http, emulator.gservice_url)


@pytest.fixture
async def did(gservice: CountingGService) -> str:
    return await gservice.register(PRODUCT_KEY, MAC, PASSCODE)


class Running:
    """A session running in a task, recording frames and statuses."""

    def __init__(self, session: M2MSession) -> None:
        self.session = session
        self.frames: list[ReceivedFrame] = []
        self.statuses: list[ConnectionStatus] = []
        session.add_frame_listener(self.frames.append)
        session.add_status_listener(self.statuses.append)
        self.task = asyncio.create_task(session.run())

    def of_type[T](self, kind: type[T]) -> list[T]:
        return [r.frame for r in self.frames if isinstance(r.frame, kind)]

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, M2MAuthenticationError):
            await self.task


@pytest.fixture
async def start(
    gservice: CountingGService, did: str
) -> AsyncIterator[Callable[..., Awaitable[Running]]]:
    running: list[Running] = []

    async def _start(passcode: str = PASSCODE, wait: bool = True) -> Running:
        session = M2MSession(
            gservice, did=did, passcode=passcode, product_key=PRODUCT_KEY, timing=FAST
        )
        run = Running(session)
        running.append(run)
        if wait:
            async with asyncio.timeout(10):
                await session.wait_connected()
        return run

    yield _start
    for run in running:
        await run.stop()
        assert run.session.status.state in (ConnectionState.STOPPED, ConnectionState.AUTH_FAILED)


def test_backoff_sequence_is_0_10_20_capped_at_600() -> None:
    """protocol.md §2.8: retry at once, then +10 s after each failure, capped at 600 s."""
    timing = SessionTiming()
    assert [timing.backoff(n) for n in range(5)] == [0, 10, 20, 30, 40]
    assert timing.backoff(60) == 600
    assert timing.backoff(1000) == 600


async def test_login_provisions_subscribes_and_asks_online_apps(
    start: Callable[..., Awaitable[Running]], emulator: Emulator, gservice: CountingGService
) -> None:
    """§2.3 provision first, §2.5 login, §4 0x020F after connect → 0x0210 received."""
    run = await start()
    assert run.session.connected
    assert gservice.provisions == 1
    await wait_until(lambda: emulator.cloud.online_app_requests >= 1)
    # §4, §7: GAgent's exact bytes (short form) on cli2ser_req, answered to this DID.
    request = emulator.cloud.requests[0]
    assert (request.client_id, request.payload) == (run.session._did, bytes.fromhex("00000003020f"))
    await wait_until(lambda: bool(run.of_type(OnlineAppCount)))
    assert run.of_type(OnlineAppCount)[0].count == 0
    app = await emulator.app(run.session._did)
    await wait_until(lambda: any(f.count == 1 for f in run.of_type(OnlineAppCount)))
    await app.close()
    assert run.statuses[0].state is ConnectionState.CONNECTING
    assert run.statuses[1].state is ConnectionState.CONNECTED
    assert run.session.status.endpoint is not None
    assert run.session.status.endpoint.port == emulator.broker.port


async def test_frames_leave_at_once_without_nagle(
    start: Callable[..., Awaitable[Running]],
) -> None:
    """An ack and the report after it are two small writes: Nagle would hold the second back
    until the broker's delayed ACK (~40 ms), so the session's socket has TCP_NODELAY."""
    run = await start()
    client = run.session._client
    assert client is not None
    sock = client._client.socket()
    assert isinstance(sock, socket.socket)
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


async def test_wrong_passcode_is_refused(start: Callable[..., Awaitable[Running]]) -> None:
    """§2.5: the broker checks DID/passcode; a refusal stops the session for reauth."""
    run = await start(passcode="WRONGPASS1", wait=False)
    with pytest.raises(M2MAuthenticationError):
        await asyncio.wait_for(run.session.wait_connected(), 10)  # a waiter hears it
    with pytest.raises(M2MAuthenticationError):
        await asyncio.wait_for(run.task, 10)
    assert run.session.status.state is ConnectionState.AUTH_FAILED
    with pytest.raises(M2MAuthenticationError):
        await run.session.wait_connected()  # and so does one that comes after


async def test_disabled_did_is_refused_by_provision(
    start: Callable[..., Awaitable[Running]], gservice: CountingGService, did: str
) -> None:
    """§2.2: a disabled DID cannot be provisioned; the session reports an auth failure."""
    await gservice.disable(did, PASSCODE)
    run = await start(wait=False)
    with pytest.raises(M2MAuthenticationError):
        await asyncio.wait_for(run.task, 10)


async def test_app_passthrough_reaches_listeners(
    start: Callable[..., Awaitable[Running]], emulator: Emulator, did: str
) -> None:
    """§4 0x0090 on app2dev/<did>/<app> → a frame with the app's client id."""
    run = await start()
    app = await emulator.app(did)
    await app.send_passthrough(b"\x01\x02\x03")
    await wait_until(lambda: bool(run.of_type(AppPassthrough)))
    received = next(r for r in run.frames if isinstance(r.frame, AppPassthrough))
    assert received.frame == AppPassthrough(b"\x01\x02\x03")
    assert received.kind is TopicKind.APP
    assert received.app_client_id == app.client_id
    assert not received.acked


async def test_acked_passthrough_is_acked_and_deduplicated(
    start: Callable[..., Awaitable[Running]], emulator: Emulator, did: str
) -> None:
    """§4: every 0x0093 is acked with its sn; an exact repeat within 10 s is acked, not
    re-run; the same sn with another payload is a new command."""
    run = await start()
    app = await emulator.app(did)
    # send_acked matches the 0x0094 by sn and returns its (here empty) body.
    assert await app.send_acked(b"\xaa", sn=7) == b""
    assert await app.send_acked(b"\xaa", sn=7) == b""
    assert await app.send_acked(b"\xbb", sn=7) == b""
    assert await app.send_acked(b"\xbb", sn=8) == b""
    await wait_until(lambda: len(run.of_type(AckedPassthrough)) == 3)
    assert [(f.sn, f.payload) for f in run.of_type(AckedPassthrough)] == [
        (7, b"\xaa"),
        (7, b"\xbb"),
        (8, b"\xbb"),
    ]
    assert all(r.acked for r in run.frames if isinstance(r.frame, AckedPassthrough))
    assert run.session.stats.duplicates == 1


async def test_log_level_is_confirmed(
    start: Callable[..., Awaitable[Running]], emulator: Emulator, did: str
) -> None:
    """§4 0x0010 → 0x0011 to the sending app, value kept exactly (bits 8-15 first)."""
    run = await start()
    app = await emulator.app(did)
    assert await app.set_log_level(0x0102) == wire.LogLevelConfirm()
    await wait_until(lambda: bool(run.of_type(SetLogLevel)))
    assert run.of_type(SetLogLevel) == [SetLogLevel(0x0102)]


async def test_device_sends_reach_the_app_byte_exact(
    start: Callable[..., Awaitable[Running]], emulator: Emulator, did: str
) -> None:
    """§4 0x0091 to all apps and to one app, 0x0012 logs; the app sees the exact frames."""
    run = await start()
    app = await emulator.app(did)
    await run.session.send_passthrough(b"\x10\x20")
    got = await app.wait_for(wire.DevicePassthrough)
    assert got.frame == wire.DevicePassthrough(b"\x10\x20")
    assert got.topic == f"dev2app/{did}"
    await run.session.send_passthrough(b"\x30", app.client_id)
    got = await app.wait_for(wire.DevicePassthrough)
    assert got.topic == f"dev2app/{did}/{app.client_id}"
    sent = await run.session.send_log(LogLevel.WARNING, "tag", "src", "内容" * 3)
    log = await app.wait_for(wire.DeviceLog)
    assert log.frame == wire.DeviceLog(2, "tag", "src", "内容" * 3)
    assert (sent.level, sent.content) == (LogLevel.WARNING, "内容" * 3)


async def test_device_acked_passthrough_returns_the_ack(
    start: Callable[..., Awaitable[Running]], emulator: Emulator, did: str
) -> None:
    run = await start()
    app = await emulator.app(did)
    ack = await run.session.send_acked_passthrough(b"\x42", app.client_id)
    assert isinstance(ack, PassthroughAck)
    sent = await app.wait_for(wire.AckedPassthrough)
    assert isinstance(sent.frame, wire.AckedPassthrough)
    assert ack.sn == sent.frame.sn


async def test_device_acked_passthrough_is_retried_then_times_out(
    start: Callable[..., Awaitable[Running]], emulator: Emulator, did: str
) -> None:
    """§4 ruling: an unacked device 0x0093 is retried with the same sn, at most 3 times."""
    run = await start()
    app = await emulator.app(did, auto_ack=False)
    with pytest.raises(AckTimeoutError):
        await run.session.send_acked_passthrough(b"\x01")
    copies = [await app.wait_for(wire.AckedPassthrough) for _ in range(4)]
    assert len({c.frame.sn for c in copies if isinstance(c.frame, wire.AckedPassthrough)}) == 1
    assert run.session.stats.ack_retries == 3
    assert run.session.stats.ack_timeouts == 1


async def test_bad_frames_are_dropped_and_counted(
    start: Callable[..., Awaitable[Running]], emulator: Emulator, did: str
) -> None:
    """§6: malformed or misplaced frames are dropped and counted; the session carries on."""
    run = await start()
    app = await emulator.app(did)
    await app.send_raw(b"\x00\x00\x00\x04\x03\x00\x00\x90")  # wrong header
    await app.send_raw(b"\x00\x00\x00\x03\xff\xff\xff\xff\x7f")  # varint over 4 bytes
    await app.send_raw(b"")  # empty
    await app.send_frame(wire.OnlineAppCount(5))  # a cloud frame on an app topic
    await app.send_passthrough(b"ok")
    await wait_until(lambda: bool(run.of_type(AppPassthrough)))
    stats = run.session.stats
    assert stats.frames_dropped == 4
    assert stats.dropped_reasons["HeaderError"] == 1
    assert stats.dropped_reasons["LengthError"] == 1
    assert stats.dropped_reasons["unexpected_command"] == 1
    assert run.session.connected
    assert run.of_type(OnlineAppCount) == [] or all(
        f.count != 5 for f in run.of_type(OnlineAppCount)
    )


async def test_ota_notifications_are_dispatched(
    start: Callable[..., Awaitable[Running]], emulator: Emulator, did: str
) -> None:
    """§4 0x020E / 0x0211 on ser2cli_res/<did> (short form) reach the listeners."""
    run = await start()
    await emulator.cloud.notify_ota(did, 2, 77, "http://127.0.0.1/fw.bin")
    await emulator.cloud.notify_ota_check(did, 1)
    await wait_until(
        lambda: bool(run.of_type(OtaNotification) and run.of_type(OtaCheckNotification))
    )
    assert run.of_type(OtaNotification)[0].target_fid == 77
    assert run.of_type(OtaCheckNotification)[0].firmware_type == 1


async def test_the_clouds_real_ota_check_push_with_its_id_tail_is_not_dropped(
    start: Callable[..., Awaitable[Running]], emulator: Emulator, did: str
) -> None:
    """§3: the cloud's 0x0211 with a u16 length + 22-character id after the firmware type
    (tests/vectors/frames.json) is an OTA check, as GAgent reads it, not a malformed frame."""
    pushes = [v.data for v in frame_vectors() if "ignored" in v.expected]
    assert pushes
    run = await start()
    for push in pushes:
        await emulator.cloud.send_raw(wire.ser2cli_res(did), push)
    await wait_until(lambda: len(run.of_type(OtaCheckNotification)) == len(pushes))
    assert {f.firmware_type for f in run.of_type(OtaCheckNotification)} == {1}
    assert run.session.stats.frames_dropped == 0


async def test_send_while_disconnected_raises(gservice: CountingGService, did: str) -> None:
    session = M2MSession(gservice, did=did, passcode=PASSCODE, product_key=PRODUCT_KEY)
    with pytest.raises(M2MNotConnectedError):
        await session.send_passthrough(b"x")


async def test_heartbeat_loss_reconnects_with_backoff(
    start: Callable[..., Awaitable[Running]], emulator: Emulator, gservice: CountingGService
) -> None:
    """§2.7 two missed PINGRESPs = lost; §2.8 retry at once, then +step each failure;
    §2.3 provision before every connect; a CONNACK resets the backoff."""
    run = await start()
    emulator.broker.pause()  # SIGSTOP: TCP stays open, nothing answers
    try:
        await wait_until(
            lambda: sum(s.state is ConnectionState.WAITING for s in run.statuses) >= 3, 20
        )
    finally:
        emulator.broker.resume()
    await wait_until(lambda: run.session.connected, 20)
    assert run.session.stats.heartbeat_losses == 1
    assert run.session.stats.connection_losses == 1
    waits = [s.retry_in for s in run.statuses if s.state is ConnectionState.WAITING]
    assert waits[:3] == [pytest.approx(0.1), pytest.approx(0.2), pytest.approx(0.3)]
    attempts = sum(s.state is ConnectionState.CONNECTING for s in run.statuses)
    assert gservice.provisions == attempts
    assert run.session.status.failures == 0
    assert run.session.stats.connects == 2


def test_first_retry_after_a_loss_is_jittered_within_bound() -> None:
    """The first retry after a loss waits backoff(0) plus 0..jitter; the §2.8 steps stay."""
    timing = SessionTiming(reconnect_jitter=1.5)
    delays = [timing.first_retry_delay() for _ in range(2000)]
    assert all(0 <= d <= 1.5 for d in delays)
    assert max(delays) - min(delays) > 1.0  # really spread, not a constant
    assert [timing.backoff(n) for n in range(4)] == [0, 10, 20, 30]
    assert SessionTiming(reconnect_jitter=0).first_retry_delay() == 0


async def test_reconnect_after_loss_jitters_only_the_first_retry(
    start: Callable[..., Awaitable[Running]], emulator: Emulator
) -> None:
    """protocol.md §2.8 after a loss: first retry after 0..jitter, then +step per failure."""
    run = await start()
    run.session.timing = replace(FAST, reconnect_jitter=0.4)
    emulator.broker.pause()
    try:
        await wait_until(
            lambda: sum(s.state is ConnectionState.WAITING for s in run.statuses) >= 4, 20
        )
    finally:
        emulator.broker.resume()
    await wait_until(lambda: run.session.connected, 20)
    waits = [s.retry_in for s in run.statuses if s.state is ConnectionState.WAITING]
    assert waits[0] is not None
    assert 0 <= waits[0] <= 0.4
    assert waits[1:4] == [pytest.approx(0.1), pytest.approx(0.2), pytest.approx(0.3)]
    assert run.session.stats.connection_losses == 1


def _runner(clock: list[float]) -> tuple[CommandRunner, list[AppCommand]]:
    """A runner on an injected clock whose handler records each command it runs."""
    runner = CommandRunner(clock=lambda: clock[0])
    ran: list[AppCommand] = []

    async def handler(command: AppCommand) -> bytes | None:
        ran.append(command)
        return b"\x03answer" + bytes([len(ran)])

    runner.set_handler(handler)
    return runner, ran


async def test_sn_0_reused_with_different_payloads_runs_each() -> None:
    """§4 (amended): a client that sends every 0x0093 with sn 0 ("stop pump", "start pump
    2", ...) gets every command run; only an exact repeat is a retransmission."""
    runner, ran = _runner([0.0])
    stop, start = (AppCommand(CommandSource.LAN, "app", 0, p) for p in (b"\x01\x00", b"\x01\x02"))
    for command in (stop, start, stop):
        answer, repeat = runner.submit(command)
        assert not repeat
        await answer
    assert ran == [stop, start, stop]


async def test_exact_repeat_within_10_s_is_acked_with_the_same_answer_not_run() -> None:
    """§4: the same app's previous 0x0093 again (same sn and payload) within 10 s gets the
    first run's answer and is not run; at 10 s and after it is a new command."""
    now = [100.0]
    runner, ran = _runner(now)
    read = AppCommand(CommandSource.CLOUD, "app", 7, b"\x02")
    first, repeat = runner.submit(read)
    assert not repeat
    first_answer = await first
    now[0] = 109.9
    again, repeat = runner.submit(read)
    assert repeat
    assert await again == first_answer
    assert ran == [read]
    now[0] = 110.0
    later, repeat = runner.submit(read)
    assert not repeat
    assert await later != first_answer
    assert ran == [read, read]


async def test_only_the_previous_command_is_remembered() -> None:
    """§4: "the same app's *previous* 0x0093": A, B, A again runs A again."""
    runner, ran = _runner([0.0])
    a, b = (
        AppCommand(CommandSource.CLOUD, "app", 1, b"\x01"),
        AppCommand(CommandSource.CLOUD, "app", 2, b"\x02"),
    )
    for command in (a, b, a):
        assert not runner.submit(command)[1]
        await asyncio.sleep(0)
    await asyncio.gather(*runner._running)
    assert runner.submit(a)[1]  # now A is the previous one
    assert ran == [a, b, a]


async def test_two_apps_with_the_same_sn_are_independent() -> None:
    """§4: retransmissions are per app (and per transport: a LAN "host:port" is its own app)."""
    runner, ran = _runner([0.0])
    commands = [
        AppCommand(CommandSource.CLOUD, "one", 5, b"\x02"),
        AppCommand(CommandSource.CLOUD, "two", 5, b"\x02"),
        AppCommand(CommandSource.LAN, "one", 5, b"\x02"),
    ]
    for command in commands:
        answer, repeat = runner.submit(command)
        assert not repeat
        await answer
    assert ran == commands
    assert runner.submit(commands[1])[1]


async def test_retransmission_memory_is_bounded() -> None:
    """One entry per app; past the cap the least recently used app is forgotten."""
    runner, _ = _runner([0.0])
    for index in range(DEDUP_MAX_ENTRIES + 10):
        runner.submit(AppCommand(CommandSource.CLOUD, f"app{index}", 0, b""))
    assert len(runner._seen) == DEDUP_MAX_ENTRIES
    assert not runner.submit(AppCommand(CommandSource.CLOUD, "app0", 0, b""))[1]
    last = AppCommand(CommandSource.CLOUD, f"app{DEDUP_MAX_ENTRIES + 9}", 0, b"")
    assert runner.submit(last)[1]
    await asyncio.gather(*runner._running)


async def test_command_listeners_see_each_command_once_from_every_transport() -> None:
    """Listeners hear every handled command (cloud and LAN) once, before the handler; a
    retransmitted 0x0093 (§4) is not heard again; a failing listener harms nothing."""
    runner = CommandRunner()
    heard: list[AppCommand] = []
    handled: list[AppCommand] = []

    async def handler(command: AppCommand) -> bytes | None:
        handled.append(command)
        return None

    def broken(command: AppCommand) -> None:
        raise RuntimeError("listener bug")

    runner.set_handler(handler)
    runner.add_listener(broken)
    remove = runner.add_listener(heard.append)
    cloud = AppCommand(CommandSource.CLOUD, "app", 7, b"\x02")
    lan = AppCommand(CommandSource.LAN, "127.0.0.1:5000", None, b"\x02")
    for command in (cloud, cloud, lan):
        await runner.submit(command)[0]
    assert heard == [cloud, lan]
    assert handled == [cloud, lan]
    remove()
    await runner.submit(AppCommand(CommandSource.LAN, "127.0.0.1:5000", 1, b""))[0]
    assert heard == [cloud, lan]


async def test_a_handler_that_never_waits_is_answered_before_submit_returns() -> None:
    """The handler starts at once: one that never waits is done (and not counted as
    running) when submit returns; one that waits runs on and counts against the cap."""
    runner, ran = _runner([0.0])
    answer, _ = runner.submit(AppCommand(CommandSource.CLOUD, "app", 1, b"\x02"))
    assert answer.done()
    assert answer.result() == b"\x03answer\x01"
    assert not runner._running
    gate = asyncio.Event()

    async def waiting(command: AppCommand) -> bytes | None:
        ran.append(command)
        await gate.wait()
        return b"late"

    runner = CommandRunner(max_running=1)
    runner.set_handler(waiting)
    answer, _ = runner.submit(AppCommand(CommandSource.CLOUD, "app", 2, b"\x02"))
    assert not answer.done()
    assert len(ran) == 2  # started already
    assert runner.busy
    gate.set()
    assert await answer == b"late"
    await asyncio.sleep(0)
    assert not runner.busy


async def test_acked_read_is_answered_inside_the_ack_to_the_asking_app_only(
    start: Callable[..., Awaitable[Running]], emulator: Emulator, did: str
) -> None:
    """§4 ruling: the device's answer travels inside the 0x0094 (same sn), only to the app
    that asked, and no separate 0x0091 is sent; a 0x0090 gets its answer as a 0x0091."""
    run = await start()
    calls: list[AppCommand] = []

    async def handler(command: AppCommand) -> bytes | None:
        calls.append(command)
        return b"\x03" + command.payload

    run.session.set_command_handler(handler)
    asking = await emulator.app(did)
    other = await emulator.app(did)
    # send_acked matches the 0x0094 by sn and returns its body: the answer.
    assert await asking.send_acked(b"\x02", sn=41) == b"\x03\x02"
    assert calls == [AppCommand(CommandSource.CLOUD, asking.client_id, 41, b"\x02")]
    await asking.send_passthrough(b"\x12")
    reply = await asking.wait_for(wire.DevicePassthrough)
    assert reply.frame == wire.DevicePassthrough(b"\x03\x12")
    assert reply.topic == f"dev2app/{did}/{asking.client_id}"
    assert calls[-1] == AppCommand(CommandSource.CLOUD, asking.client_id, None, b"\x12")
    # The other app saw neither the ack nor the reply; the asking app no extra 0x0091.
    assert not [r for r in other.received if isinstance(r.frame, wire.PassthroughAck)]
    assert not [r for r in other.received if isinstance(r.frame, wire.DevicePassthrough)]
    assert [r.frame for r in asking.received if isinstance(r.frame, wire.DevicePassthrough)] == [
        wire.DevicePassthrough(b"\x03\x12")
    ]
    assert [r.frame for r in run.frames if isinstance(r.frame, AckedPassthrough)] == [
        AckedPassthrough(41, b"\x02")
    ]


async def test_a_repeated_sn_is_acked_with_the_same_answer_but_run_once(
    start: Callable[..., Awaitable[Running]], emulator: Emulator, did: str
) -> None:
    """§4 ruling: the same sn from the same app within 60 s is acked again, same answer,
    not executed twice — even while the first run is still going."""
    run = await start()
    release = asyncio.Event()
    calls = 0

    async def slow(command: AppCommand) -> bytes | None:
        nonlocal calls
        calls += 1
        await release.wait()
        return b"\x13answer"

    run.session.set_command_handler(slow)
    app = await emulator.app(did)
    await app.send_acked(b"\x12", sn=9, wait=False)
    await app.send_acked(b"\x12", sn=9, wait=False)
    await wait_until(lambda: run.session.stats.duplicates == 1)
    release.set()
    first = await app.wait_for(wire.PassthroughAck)
    second = await app.wait_for(wire.PassthroughAck)
    assert first.frame == second.frame == wire.PassthroughAck(9, b"\x13answer")
    assert app.ack_errors == []
    assert calls == 1
    assert len(run.of_type(AckedPassthrough)) == 1


async def test_a_failing_handler_still_acks_and_a_removed_one_answers_nothing(
    start: Callable[..., Awaitable[Running]], emulator: Emulator, did: str
) -> None:
    """§4: every 0x0093 is acked; a handler bug must not cost the app its ack (§6)."""
    run = await start()

    async def broken(command: AppCommand) -> bytes | None:
        raise RuntimeError("handler bug")

    remove = run.session.set_command_handler(broken)
    app = await emulator.app(did)
    assert await app.send_acked(b"\x02", sn=1) == b""
    remove()
    assert await app.send_acked(b"\x02", sn=2) == b""
    assert run.session.connected


async def test_listener_errors_and_foreign_topics_do_not_stop_the_session(
    start: Callable[..., Awaitable[Running]], emulator: Emulator, did: str
) -> None:
    """§6: nothing received can stop the session — not a listener bug, not a stray topic."""
    run = await start()

    def broken(_: object) -> None:
        raise RuntimeError("listener bug")

    remove_frame = run.session.add_frame_listener(broken)
    remove_status = run.session.add_status_listener(broken)
    await run.session._handle_message("app2dev/someone-else/app", b"\x00")
    await run.session._handle_message(f"app2dev/{did}/a/b", b"\x00")
    await run.session._handle_message(f"app2dev/{did}/app", None)
    assert run.session.stats.dropped_reasons["unexpected_topic"] == 2
    assert run.session.stats.dropped_reasons["empty_payload"] == 1
    app = await emulator.app(did)
    await app.send_passthrough(b"still works")
    await wait_until(lambda: bool(run.of_type(AppPassthrough)))
    run.session._set_status(run.session.status.state)
    remove_frame()
    remove_status()
    assert run.session.connected


async def test_replies_are_skipped_quietly_while_disconnected(
    gservice: CountingGService, did: str
) -> None:
    """An ack that cannot be sent (connection just lost) is left to the reconnect loop."""
    session = M2MSession(gservice, did=did, passcode=PASSCODE, product_key=PRODUCT_KEY)
    frame = encode_frame(AckedPassthrough(5, b"x"))
    await session._handle_message(f"app2dev/{did}/app", frame)
    await session._handle_message(f"app2dev/{did}/app", encode_frame(SetLogLevel(1)))
    assert session.stats.frames_sent == 0
    with pytest.raises(M2MNotConnectedError):
        await session.send_acked_passthrough(b"x")


async def test_pending_acks_fail_when_the_connection_drops(
    start: Callable[..., Awaitable[Running]], emulator: Emulator, did: str
) -> None:
    run = await start()
    await emulator.app(did, auto_ack=False)
    send = asyncio.create_task(run.session.send_acked_passthrough(b"\x01"))
    await asyncio.sleep(0.05)
    await emulator.broker.restart()
    with pytest.raises((M2MNotConnectedError, AckTimeoutError)):
        await send
    await wait_until(lambda: run.session.connected, 20)


async def test_one_missed_heartbeat_keeps_the_session_two_drop_it(
    gservice: CountingGService, emulator: Emulator, did: str
) -> None:
    """§2.7: the broker silent for one heartbeat period keeps the link; silent long enough
    for two PINGRESPs to be missed drops it. Keepalive 2 s stands for the protocol's 90 s:
    paho pings after 2 s of quiet and gives up 2 s later (SessionTiming.keepalive)."""
    session = M2MSession(
        gservice,
        did=did,
        passcode=PASSCODE,
        product_key=PRODUCT_KEY,
        timing=SessionTiming(keepalive=2, connect_timeout=2.0, backoff_step=0.1),
    )
    run = Running(session)
    try:
        async with asyncio.timeout(10):
            await session.wait_connected()
        app = await emulator.app(did)
        # Fresh traffic both ways, then 2.5 s of silence: the PINGREQ goes out at +2 s while
        # the broker is stopped and is answered at +2.5 s, before paho's limit at +4 s.
        assert await app.send_acked(b"\x01", sn=1) is not None
        emulator.broker.pause()
        await asyncio.sleep(2.5)
        emulator.broker.resume()
        assert await app.send_acked(b"\x01", sn=2) is not None
        assert session.connected
        assert session.stats.connection_losses == 0
        # Stopped for good: lost after the second missed PINGRESP, then reconnected.
        emulator.broker.pause()
        try:
            await wait_until(lambda: not session.connected, 20)
        finally:
            emulator.broker.resume()
        assert session.stats.heartbeat_losses == 1
        await wait_until(lambda: session.connected, 20)
        assert session.stats.connects == 2
    finally:
        emulator.broker.resume()
        await run.stop()


async def test_connect_proves_the_login_and_raises_typed_errors(
    gservice: CountingGService, emulator: Emulator, did: str
) -> None:
    """connect(): one provision + login (§2.3, §2.5), then a clean logout; a refusal, an
    unreachable broker or a missing CONNACK each raise their own error (§7)."""

    def session(passcode: str = PASSCODE) -> M2MSession:
        return M2MSession(
            gservice, did=did, passcode=passcode, product_key=PRODUCT_KEY, timing=FAST
        )

    async with session().connect() as endpoint:
        assert endpoint.port == emulator.broker.port
    with pytest.raises(M2MAuthenticationError):
        async with session("WRONGPASS1").connect():
            pass
    emulator.state.inject_fault("provision", "status", status=503)
    with pytest.raises(M2MUnreachableError):
        async with session().connect():
            pass
    emulator.broker.pause()
    try:
        with pytest.raises(M2MTimeoutError):
            async with session().connect():
                pass
    finally:
        emulator.broker.resume()
    port = emulator.state.m2m_port
    emulator.state.m2m_port = closed_port()
    try:
        with pytest.raises(M2MUnreachableError) as info:
            async with session().connect():
                pass
        assert not isinstance(info.value, M2MTimeoutError)
    finally:
        emulator.state.m2m_port = port


async def test_an_answer_too_large_for_a_frame_is_logged_and_not_sent(
    start: Callable[..., Awaitable[Running]],
    emulator: Emulator,
    did: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A handler's answer over 65535 bytes cannot be framed (§3): it is logged as the
    handler's bug, nothing is sent for it, and the next command is answered as usual."""
    run = await start()

    async def huge(command: AppCommand) -> bytes | None:
        return b"\x13" + bytes(70_000) if command.payload == b"\x12" else b"\x13ok"

    run.session.set_command_handler(huge)
    app = await emulator.app(did)
    sent = run.session.stats.frames_sent
    await app.send_acked(b"\x12", sn=3, wait=False)
    await wait_until(lambda: "Could not send the answer to an app command" in caplog.text)
    assert run.session.stats.frames_sent == sent
    assert await app.send_acked(b"\x11", sn=4) == b"\x13ok"


async def test_acks_go_out_through_the_stock_publish_too(
    start: Callable[..., Awaitable[Running]],
    emulator: Emulator,
    did: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """§4: an aiomqtt without the internals of the direct publish still gets every ack out
    (sent by a task instead of at once)."""
    monkeypatch.setattr(mqtt_client, "_PUBLISH_INTERNALS", ("_no_such_internal",))
    run = await start()
    assert isinstance(run.session._client, mqtt_client.MqttClient)
    assert not run.session._client.direct_publish
    app = await emulator.app(did)
    assert await app.send_acked(b"\xaa", sn=9) == b""


async def test_an_ack_paho_refuses_is_dropped_quietly(gservice: CountingGService, did: str) -> None:
    """An ack the client cannot take (its connection is gone) is left to the reconnect."""
    session = M2MSession(gservice, did=did, passcode=PASSCODE, product_key=PRODUCT_KEY)
    session._client = mqtt_client.MqttClient("127.0.0.1", 1)
    await session._handle_message(f"app2dev/{did}/app", encode_frame(AckedPassthrough(5, b"x")))
    assert session.stats.frames_sent == 0
