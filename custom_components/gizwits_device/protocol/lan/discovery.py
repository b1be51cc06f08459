"""UDP side of the LAN service: the discovery responder and the start-up broadcast.

Apps broadcast 0x0003 to UDP 12414; the device answers 0x0004 unicast to the sender's own
address and port, once per device it serves. After start-up the device also announces itself
with 0x0005 to the broadcast address on port 2415, once a second for 30 s (GAgent lan.c).

To hear broadcasts on Linux the responder must be bound to the wildcard address (a socket
bound to one interface's unicast address does not receive datagrams sent to 255.255.255.255).
"""

import asyncio
from collections.abc import Callable, Iterable, Sequence
import errno
import logging
import socket

from ..frame_fields import FrameError
from ..frames import DevicePassthrough
from .codec import decode_lan_frame, encode_lan_frame
from .errors import LanBindError, LanPortInUseError
from .messages import DeviceAnnouncement, DiscoveryReply, DiscoveryRequest, StartupBroadcast
from .stats import LanStats

__all__ = [
    "DEFAULT_BROADCAST_PORT",
    "DEFAULT_DISCOVERY_PORT",
    "DiscoveryResponder",
    "send_startup_broadcasts",
]

_LOGGER = logging.getLogger(__name__)

DEFAULT_DISCOVERY_PORT = 12414
DEFAULT_BROADCAST_PORT = 2415

type Announcements = Callable[[], Iterable[DeviceAnnouncement]]


def bind_error(transport: str, host: str | None, port: int, err: OSError) -> LanBindError:
    """The typed error for a failed bind (LanPortInUseError when the port is taken)."""
    cls = LanPortInUseError if err.errno == errno.EADDRINUSE else LanBindError
    return cls(transport, host, port, err.strerror or str(err))


class _ResponderProtocol(asyncio.DatagramProtocol):
    def __init__(self, announcements: Announcements, stats: LanStats) -> None:
        self._announcements = announcements
        self._stats = stats
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.DatagramTransport)
        self._transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        try:
            message = decode_lan_frame(data)
        except FrameError as err:
            self._ignore(type(err).__name__, addr, err)
            return
        if isinstance(message, DevicePassthrough):
            # A device's status broadcast on 12414 (ours loops back too): not for us.
            self._stats.status_broadcasts_heard += 1
            return
        if not isinstance(message, DiscoveryRequest):
            self._ignore("unexpected_command", addr, f"0x{message.command:04X}")
            return
        self._stats.discovery_requests += 1
        transport = self._transport
        if transport is None:  # pragma: no cover - datagrams only arrive while connected
            return
        for announcement in self._announcements():
            transport.sendto(encode_lan_frame(DiscoveryReply(announcement)), addr)
            self._stats.discovery_replies += 1

    def error_received(self, exc: Exception) -> None:
        _LOGGER.debug("LAN discovery socket error: %s", exc)

    def _ignore(self, reason: str, addr: object, detail: object) -> None:
        self._stats.datagrams_ignored += 1
        self._stats.drop(f"udp_{reason}")
        _LOGGER.debug("Ignored a LAN datagram from %s (%s): %s", addr, reason, detail)


class DiscoveryResponder:
    """Answers 0x0003 with one 0x0004 per served device, unicast to the asker."""

    def __init__(
        self,
        announcements: Announcements,
        *,
        # The wildcard address is needed to hear broadcasts (module docstring).
        hosts: Sequence[str] = ("0.0.0.0",),  # noqa: S104
        port: int = DEFAULT_DISCOVERY_PORT,
        stats: LanStats | None = None,
    ) -> None:
        self._announcements = announcements
        self._hosts = tuple(hosts)
        self._port = port
        self.stats = stats if stats is not None else LanStats()
        self._transports: list[asyncio.DatagramTransport] = []

    @property
    def port(self) -> int:
        """The bound port (the real one when constructed with port 0)."""
        if self._transports:
            sockname = self._transports[0].get_extra_info("sockname")
            return int(sockname[1])
        return self._port

    @property
    def listening(self) -> bool:
        """Whether the responder is bound."""
        return bool(self._transports)

    async def start(self) -> None:
        """Bind every host; raises LanPortInUseError / LanBindError (nothing stays bound)."""
        loop = asyncio.get_running_loop()
        port = self._port
        try:
            for host in self._hosts:
                try:
                    transport, _ = await loop.create_datagram_endpoint(
                        lambda: _ResponderProtocol(self._announcements, self.stats),
                        local_addr=(host, port),
                        family=socket.AF_INET,
                    )
                except OSError as err:
                    raise bind_error("udp", host, port, err) from err
                self._transports.append(transport)
                # With port 0 every further host binds the port the first one got.
                port = self.port
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Close every socket."""
        for transport in self._transports:
            transport.close()
        self._transports.clear()


class _BroadcastProtocol(asyncio.DatagramProtocol):
    def error_received(self, exc: Exception) -> None:
        _LOGGER.debug("LAN start-up broadcast failed: %s", exc)


async def send_startup_broadcasts(
    announcements: Announcements,
    addresses: Sequence[str],
    *,
    port: int = DEFAULT_BROADCAST_PORT,
    count: int = 30,
    interval: float = 1.0,
    stats: LanStats | None = None,
) -> None:
    """Send 0x0005 for every device to every address, `count` times, `interval` s apart.

    `addresses` are the broadcast addresses of the interfaces the user enabled. Send errors
    (e.g. an interface going down) reach `error_received`: logged, the others still go out.
    """
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        _BroadcastProtocol, family=socket.AF_INET, allow_broadcast=True
    )
    try:
        for round_number in range(count):
            if round_number:
                await asyncio.sleep(interval)
            for announcement in announcements():
                datagram = encode_lan_frame(StartupBroadcast(announcement))
                for address in addresses:
                    transport.sendto(datagram, (address, port))
                    if stats is not None:
                        stats.broadcasts_sent += 1
    finally:
        transport.close()
