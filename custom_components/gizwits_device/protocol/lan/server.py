"""The TCP side of the LAN service: one listener serving several devices.

A client is not tied to a device until it logs in: its 0x0008 is routed to the device whose
passcode it carries. A 0x0006 before login is answered for the device whose binding window
opened most recently (and refused, then closed, when no window is open). Each device keeps at
most `max_clients_per_device` logged-in clients; reports to "all apps" reach them all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
import contextlib
import hmac
import logging

from ..frames import DevicePassthrough
from ..listeners import Listeners
from .codec import encode_lan_frame
from .connection import LanConnection
from .device import LanDevice
from .discovery import bind_error
from .errors import LanConfigError
from .messages import DeviceAnnouncement
from .ratelimit import LoginRateLimiter
from .stats import LanStats

__all__ = [
    "DEFAULT_HEARTBEAT_TIMEOUT",
    "DEFAULT_LOGIN_TIMEOUT",
    "DEFAULT_TCP_PORT",
    "MAX_CLIENTS_PER_DEVICE",
    "LanServer",
]

_LOGGER = logging.getLogger(__name__)

DEFAULT_TCP_PORT = 12416
# protocol.md §8 (amended): a logged-in client silent for 60 s is closed (LAN clients that work
# with real devices ping every 20 s); one that has not logged in within 15 s is closed.
DEFAULT_HEARTBEAT_TIMEOUT = 60.0
DEFAULT_LOGIN_TIMEOUT = 15.0
MAX_CLIENTS_PER_DEVICE = 8

type ClientsListener = Callable[[str, int], None]


class LanServer:
    """TCP 12416: passcode, login, heartbeat, module info and passthrough for many devices."""

    def __init__(
        self,
        *,
        hosts: Sequence[str] | None = None,
        port: int = DEFAULT_TCP_PORT,
        heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT,
        login_timeout: float = DEFAULT_LOGIN_TIMEOUT,
        max_clients_per_device: int = MAX_CLIENTS_PER_DEVICE,
        rate_limiter: LoginRateLimiter | None = None,
        write_buffer_limit: int = 256 * 1024,
        stats: LanStats | None = None,
    ) -> None:
        self._hosts = list(hosts) if hosts is not None else None
        self._port = port
        self.heartbeat_timeout = heartbeat_timeout
        self.login_timeout = login_timeout
        self.max_clients_per_device = max_clients_per_device
        self.rate_limiter = rate_limiter if rate_limiter is not None else LoginRateLimiter()
        self.write_buffer_limit = write_buffer_limit
        self.stats = stats if stats is not None else LanStats()
        self._devices: dict[str, LanDevice] = {}
        self._logged_in: dict[str, set[LanConnection]] = {}
        self._connections: set[LanConnection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._listeners: Listeners[str, int] = Listeners("LAN clients")
        self._server: asyncio.Server | None = None

    # -- devices -------------------------------------------------------------------------

    def add_device(self, device: LanDevice) -> None:
        """Serve a device; its DID and passcode must differ from every other served device's."""
        for other in self._devices.values():
            if other.did == device.did:
                raise LanConfigError("this DID is already served on the LAN")
            if hmac.compare_digest(other.passcode_bytes, device.passcode_bytes):
                raise LanConfigError("another device on the LAN has the same passcode")
        self._devices[device.did] = device
        self._logged_in[device.did] = set()

    def remove_device(self, did: str) -> None:
        """Stop serving a device and close its clients."""
        if self._devices.pop(did, None) is None:
            return
        for connection in list(self._logged_in.get(did, ())):
            connection.close()
        self._logged_in.pop(did, None)

    @property
    def devices(self) -> list[LanDevice]:
        """The served devices, in the order they were added."""
        return list(self._devices.values())

    def announcements(self) -> list[DeviceAnnouncement]:
        """What discovery answers: one announcement per served device."""
        return [device.announcement for device in self._devices.values()]

    def device_in_binding_window(self, device: LanDevice | None = None) -> LanDevice | None:
        """The device whose passcode a 0x0006 may reveal now, if any.

        A logged-in client asks about its own device; before login, the device whose window
        opened most recently answers.
        """
        if device is not None:
            return device if device.binding.is_open else None
        open_devices = [d for d in self._devices.values() if d.binding.opened_at is not None]
        return max(open_devices, key=lambda d: d.binding.opened_at or 0.0, default=None)

    def device_for_anonymous_request(self) -> LanDevice | None:
        """Whose module info a client gets before login: the binding device, else the first."""
        return self.device_in_binding_window() or next(iter(self._devices.values()), None)

    # -- clients -------------------------------------------------------------------------

    def logged_in_count(self, did: str) -> int:
        """Number of LAN apps logged in to this device."""
        return len(self._logged_in.get(did, ()))

    def logged_in_clients(self, did: str) -> list[str]:
        """ "host:port" of each LAN app logged in to this device."""
        return sorted(c.address for c in self._logged_in.get(did, ()))

    def add_clients_listener(self, listener: ClientsListener) -> Callable[[], None]:
        """Call listener(did, count) whenever a device's logged-in count changes."""
        return self._listeners.add(listener)

    def send_to_all(self, did: str, payload: bytes) -> int:
        """0x0091 to every app logged in to this device; returns how many it went to."""
        clients = list(self._logged_in.get(did, ()))
        if not clients:
            return 0
        frame = encode_lan_frame(DevicePassthrough(payload))
        for connection in clients:
            connection.send_raw(frame)
        return len(clients)

    def _login(self, connection: LanConnection, passcode: bytes) -> LanDevice | None:
        """Route a 0x0008 to the device with this passcode; None means refused."""
        if self.rate_limiter.blocked(connection.host):
            self.stats.logins_rate_limited += 1
            _LOGGER.debug("LAN login from %s refused: too many failures", connection.host)
            return None
        candidates = [connection.device] if connection.device else self._devices.values()
        device = next(
            (d for d in candidates if hmac.compare_digest(d.passcode_bytes, passcode)), None
        )
        if device is None:
            self.rate_limiter.record_failure(connection.host)
            self.stats.logins_refused += 1
            _LOGGER.debug("LAN login from %s refused: wrong passcode", connection.address)
            return None
        clients = self._logged_in[device.did]
        if connection not in clients and len(clients) >= self.max_clients_per_device:
            self.stats.connections_refused += 1
            _LOGGER.debug(
                "LAN login from %s refused: device has the most clients", connection.address
            )
            return None
        self.stats.logins_accepted += 1
        if connection.device is None:
            connection.device = device
            clients.add(connection)
            self._notify(device.did)
        return device

    def _connection_closed(self, connection: LanConnection) -> None:
        self._connections.discard(connection)
        device, connection.device = connection.device, None
        if device is None:
            return
        clients = self._logged_in.get(device.did)
        if clients is not None and connection in clients:
            clients.discard(connection)
            self._notify(device.did)

    def _notify(self, did: str) -> None:
        self._listeners.notify(did, self.logged_in_count(did))

    # -- listening -----------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (the real one when constructed with port 0)."""
        if self._server is not None and self._server.sockets:
            return int(self._server.sockets[0].getsockname()[1])
        return self._port

    @property
    def listening(self) -> bool:
        """Whether the listener is bound."""
        return self._server is not None

    async def start(self) -> None:
        """Listen; raises LanPortInUseError / LanBindError naming the port."""
        try:
            self._server = await asyncio.start_server(
                self._accept, host=self._hosts, port=self._port
            )
        except OSError as err:
            host = ",".join(self._hosts) if self._hosts else None
            raise bind_error("tcp", host, self._port, err) from err

    async def stop(self) -> None:
        """Stop listening, close every client and wait for their handlers to finish."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for connection in list(self._connections):
            connection.close()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 1.0)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = LanConnection(self, reader, writer)
        limit = self.max_clients_per_device * max(1, len(self._devices))
        if self._server is None or len(self._connections) >= limit:
            self.stats.connections_refused += 1
            _LOGGER.debug("LAN client %s refused: too many connections", connection.address)
            writer.close()
            return
        self.stats.connections_accepted += 1
        self._connections.add(connection)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await connection.run()
        finally:
            self._tasks.discard(task)
