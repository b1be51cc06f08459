"""A self-reconnecting aiomqtt client (MQTT 3.1) shared by the cloud agent and the app simulator."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
import contextlib
from dataclasses import dataclass
import logging
from typing import Any

import aiomqtt

_LOGGER = logging.getLogger(__name__)
_RETRY_DELAY = 0.1
CONNECT_TIMEOUT = 10.0

type MessageHandler = Callable[[str, bytes], Awaitable[None]]


class _Client(aiomqtt.Client):
    """aiomqtt 2.5's client without two loop-callback races a test event loop reports.

    - The socket writer is registered a loop turn after paho asks, by the fd number read when
      asked: a socket closed in between hands the loop a dead (or reused) fd. Here the fd is
      read when the registration runs, and a socket closed by then is skipped.
    - A disconnect before the CONNACK reads the CONNACK future, which raises CancelledError
      inside the callback when that wait was cancelled (a link stopped while connecting).
      Here such a disconnect just ends the connection.

    Both use aiomqtt internals, so they apply only while aiomqtt has them.
    """

    def _has(self, *names: str) -> bool:
        return all(hasattr(self, name) for name in names)

    def _on_disconnect(self, client: Any, userdata: Any, *args: Any, **kwargs: Any) -> None:
        connack = getattr(self, "_connected", None)
        if (
            self._has("_disconnected")
            and connack is not None
            and not self._disconnected.done()
            and (not connack.done() or connack.cancelled())
        ):
            self._disconnected.set_result(None)
            return
        super()._on_disconnect(client, userdata, *args, **kwargs)

    def _on_socket_register_write(self, client: Any, userdata: Any, sock: Any) -> None:
        if not self._has("_loop", "_disconnected"):
            super()._on_socket_register_write(client, userdata, sock)
            return

        def write() -> None:
            try:
                client.loop_write()
            except Exception as exc:  # as aiomqtt: a failed write is a broken connection
                if not self._disconnected.done():
                    self._disconnected.set_exception(exc)

        def register() -> None:
            fileno = sock.fileno()
            if fileno >= 0:
                self._loop.add_writer(fileno, write)

        self._loop.call_soon_threadsafe(register)


class LinkError(RuntimeError):
    """The MQTT link is not connected (or was refused)."""


@dataclass(slots=True)
class BrokerLogin:
    """Where a link connects and as whom (the port may be set once the broker has one)."""

    host: str
    port: int
    username: str
    password: str


class MqttLink:
    """Keeps one MQTT 3.1 session up, resubscribing after broker restarts, until `stop()`."""

    def __init__(
        self,
        login: BrokerLogin,
        *,
        client_id: str,
        topics: Sequence[str],
        on_message: MessageHandler,
        keepalive: int = 60,
    ) -> None:
        """Nothing connects before `start()`."""
        self.login = login
        self.client_id = client_id
        self.topics = tuple(topics)
        self._on_message = on_message
        self._keepalive = keepalive
        self._client: aiomqtt.Client | None = None
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.last_error: Exception | None = None
        self.connect_count = 0

    @property
    def connected(self) -> bool:
        """True while subscribed and usable."""
        return self._client is not None

    async def start(self) -> None:
        """Start the session task and wait until the first subscription is done."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"mqtt-link-{self.client_id}")
        try:
            await self.wait_connected()
        except BaseException:
            await self.stop()
            raise

    async def wait_connected(self) -> None:
        """Wait (up to CONNECT_TIMEOUT) until the link is connected and subscribed."""
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                await self._connected.wait()
        except TimeoutError:
            where = f"{self.login.host}:{self.login.port}"
            raise LinkError(
                f"{self.client_id}: not connected to {where} ({self.last_error!r})"
            ) from None

    async def stop(self) -> None:
        """Disconnect and end the session task."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def publish(self, topic: str, payload: bytes) -> None:
        """Publish at QoS 0 (what Gizwits uses), waiting for a connection if needed."""
        if self._client is None:
            await self.wait_connected()
        client = self._client
        if client is None:
            raise LinkError(f"{self.client_id}: not connected")
        await client.publish(topic, payload, qos=0)

    async def _run(self) -> None:
        while True:
            try:
                async with _Client(
                    hostname=self.login.host,
                    port=self.login.port,
                    username=self.login.username,
                    password=self.login.password,
                    identifier=self.client_id,
                    protocol=aiomqtt.ProtocolVersion.V31,
                    clean_session=True,
                    keepalive=self._keepalive,
                ) as client:
                    for topic in self.topics:
                        await client.subscribe(topic, qos=0)
                    self._client = client
                    self.connect_count += 1
                    self._connected.set()
                    async for message in client.messages:
                        try:
                            await self._on_message(str(message.topic), bytes(message.payload))
                        except Exception:
                            # One bad handler run must not end the session.
                            _LOGGER.exception("%s: message handler failed", self.client_id)
            except aiomqtt.MqttError as err:
                self.last_error = err
                _LOGGER.debug("%s: MQTT link lost: %s", self.client_id, err)
            finally:
                self._client = None
                self._connected.clear()
            await asyncio.sleep(_RETRY_DELAY)
