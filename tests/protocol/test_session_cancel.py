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
from emulator.server import Emulator
from tests.conftest import PRODUCT_KEY
from tests.fault.proxy import ConnackHold
from tests.protocol.test_session import FAST, MAC, PASSCODE


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
