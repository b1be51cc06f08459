"""Real loopback HTTP servers for the GService / firmware tests (no mocked HTTP).

- `serve(app)` runs any aiohttp app on 127.0.0.1:<free port> and yields its base URL.
- `scripted_app(handler)` is an app whose every request goes to `handler`: for answers the
  emulator never gives (missing keys, odd status codes, oversized bodies).
- `closed_port()` is a loopback port nothing listens on (connection refused).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
import socket

from aiohttp import web
from aiohttp.test_utils import TestServer

from emulator.gservice import create_gservice_app
from emulator.state import CloudState

PRODUCT_KEY = "0123456789abcdef0123456789abcdef"
OTHER_PRODUCT_KEY = "fedcba9876543210fedcba9876543210"
MAC = "a0:b1:c2:d3:e4:f5"
MAC_WIRE = "A0B1C2D3E4F5"
PASSCODE = "ABCDEFGHIJ"

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@contextlib.asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Run `app` on loopback; yield `http://127.0.0.1:<port>`."""
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield str(server.make_url("/")).rstrip("/")
    finally:
        await server.close()


def new_state() -> CloudState:
    """A cloud that knows PRODUCT_KEY, handing out 127.0.0.1:1883."""
    return CloudState(products={PRODUCT_KEY: "Test product"})


@contextlib.asynccontextmanager
async def serve_emulator(state: CloudState) -> AsyncIterator[str]:
    """Run the emulator's GService over `state`; yield its base URL."""
    async with serve(create_gservice_app(state)) as url:
        yield url


def scripted_app(handler: Handler) -> web.Application:
    """An app sending every request, whatever method and path, to `handler`."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


def closed_port() -> int:
    """A loopback TCP port with no listener (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
