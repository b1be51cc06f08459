"""A loopback TCP proxy that a test can take down (connection refused) and bring back.

GService "down" is a real refused connection: the integration is configured with the proxy's
URL, and `stop()` closes the listener and every open connection; `start()` listens again on
the same port.
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
