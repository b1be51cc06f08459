"""A session cancelled while its login waits for the CONNACK (an entry unloading meanwhile).

aiomqtt 2.5 cannot abort a login: a cancelled CONNACK wait leaves the TCP connection open and
a cancelled future that its disconnect callback later reads, which raises CancelledError inside
an event loop callback. The session must close that connection and raise nothing there.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import aiohttp
import pytest

from custom_components.gizwits_device.protocol import M2MSession
from custom_components.gizwits_device.protocol.gservice import GServiceClient
from emulator.broker import HOST
from emulator.server import Emulator
from tests.conftest import PRODUCT_KEY
from tests.protocol.test_session import FAST, MAC, PASSCODE


class ConnackHold:
    """A loopback proxy to the broker that holds what the broker answers until `release()`.

    The device's CONNECT goes through at once, the CONNACK waits: the login is stuck where a
    slow or frozen broker leaves it. `closed` is set once the device closes its connection.
    """

    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._released = asyncio.Event()
        self.connect_sent = asyncio.Event()
        self.closed = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def release(self) -> None:
        """Let the broker's answers (the CONNACK first) through."""
        self._released.set()

    async def __aenter__(self) -> ConnackHold:
        self._server = await asyncio.start_server(self._serve, HOST, 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        up_reader, upstream = await asyncio.open_connection(HOST, self._target_port)
        answers = asyncio.create_task(self._answer(up_reader, writer))
        try:
            while data := await reader.read(65536):
                upstream.write(data)
                self.connect_sent.set()
            self.closed.set()
        except ConnectionError:
            self.closed.set()
        finally:
            answers.cancel()
            await asyncio.gather(answers, return_exceptions=True)
            for stream in (writer, upstream):
                stream.close()
            self._tasks.discard(task)

    async def _answer(self, up_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._released.wait()
        while data := await up_reader.read(65536):
            writer.write(data)
            await writer.drain()


@pytest.fixture
async def hold(emulator: Emulator) -> AsyncIterator[ConnackHold]:
    async with ConnackHold(emulator.broker.port) as proxy:
        emulator.state.m2m_port = proxy.port  # provision hands out the proxy
        yield proxy


@pytest.fixture
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """Everything handed to the event loop's exception handler ("Exception in callback")."""
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    yield errors
    loop.set_exception_handler(None)


@pytest.fixture
async def session(emulator: Emulator) -> AsyncIterator[Callable[[float], M2MSession]]:
    async with aiohttp.ClientSession() as http:
        gservice = GServiceClient(http, emulator.gservice_url)
        did = await gservice.register(PRODUCT_KEY, MAC, PASSCODE)

        def _session(connect_timeout: float) -> M2MSession:
            # A long keepalive: paho's own keepalive check must not be what closes the socket.
            timing = replace(FAST, connect_timeout=connect_timeout, keepalive=60)
            return M2MSession(
                gservice, did=did, passcode=PASSCODE, product_key=PRODUCT_KEY, timing=timing
            )

        yield _session


async def _cancel_during_login(session: M2MSession, hold: ConnackHold) -> asyncio.Task[None]:
    task = asyncio.create_task(session.run())
    async with asyncio.timeout(30):
        await hold.connect_sent.wait()
    task.cancel()
    return task


async def test_a_connack_after_the_cancel_is_answered_with_a_disconnect(
    session: Callable[[float], M2MSession],
    hold: ConnackHold,
    loop_errors: list[dict[str, Any]],
) -> None:
    """The login runs on to its CONNACK, then the session logs out and closes the socket."""
    task = await _cancel_during_login(session(30.0), hold)
    hold.release()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with asyncio.timeout(30):
        await hold.closed.wait()
    assert loop_errors == []


async def test_no_connack_ends_at_the_connect_timeout_with_the_socket_closed(
    session: Callable[[float], M2MSession],
    hold: ConnackHold,
    loop_errors: list[dict[str, Any]],
) -> None:
    """A broker that never answers: the cancelled session still ends (the login is bounded
    by `connect_timeout`) and leaves nothing open."""
    task = await _cancel_during_login(session(0.5), hold)
    with pytest.raises(asyncio.CancelledError):
        await task
    async with asyncio.timeout(30):
        await hold.closed.wait()
    assert loop_errors == []


async def test_connect_cancelled_during_the_login_closes_the_socket(
    session: Callable[[float], M2MSession],
    hold: ConnackHold,
    loop_errors: list[dict[str, Any]],
) -> None:
    """`connect()` (the config flow's proof of the login) behaves the same when cancelled."""
    one = session(30.0)

    async def prove() -> None:
        async with one.connect():
            pytest.fail("the login cannot succeed before the cancel")

    task = asyncio.create_task(prove())
    async with asyncio.timeout(30):
        await hold.connect_sent.wait()
    task.cancel()
    hold.release()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with asyncio.timeout(30):
        await hold.closed.wait()
    assert loop_errors == []
