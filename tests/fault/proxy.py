"""Loopback TCP proxies for fault tests.

`TcpProxy` can be taken down (connection refused) and brought back: GService "down" is a real
refused connection; the integration is configured with the proxy's URL, and `stop()` closes
the listener and every open connection; `start()` listens again on the same port.
`ConnackHold` sits before the broker and holds its CONNACK: a login stuck as a slow or frozen
broker leaves it.
"""

from __future__ import annotations

import asyncio
import contextlib

from emulator.broker import HOST, free_port


class TcpProxy:
    """Forwards 127.0.0.1:<port> to `target_port`; async context manager."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.connections = 0

    @property
    def url(self) -> str:
        """The proxied HTTP base URL."""
        return f"http://{HOST}:{self.port}"

    async def start(self) -> None:
        """Listen (again) on the same port; nothing to do while listening."""
        if self._server is not None:
            return
        self._server = await asyncio.start_server(self._serve, HOST, self.port, reuse_address=True)

    async def stop(self) -> None:
        """Stop listening and cut every open connection."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> TcpProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        upstream: asyncio.StreamWriter | None = None
        try:
            up_reader, upstream = await asyncio.open_connection(HOST, self.target_port)
            await asyncio.gather(_pipe(reader, upstream), _pipe(up_reader, writer))
        except OSError:
            pass
        finally:
            self._tasks.discard(task)
            for stream in (writer, upstream):
                if stream is not None:
                    stream.close()
                    with contextlib.suppress(OSError, asyncio.CancelledError):
                        await stream.wait_closed()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    if writer.can_write_eof():
        writer.write_eof()


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
